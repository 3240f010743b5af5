package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// object is a decoded JSON object whose fields are looked up by their exact
// name. encoding/json matches struct fields case-insensitively, which would
// let a client that misspells a field's case pass here and fail against the
// real service.
type object map[string]json.RawMessage

// decodeObject decodes a JSON object; anything else (invalid JSON, an array,
// null) is an error.
func decodeObject(data []byte) (object, error) {
	var o object
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, errors.New("not a JSON object")
	}
	return o, nil
}

// field returns the raw value of key; absent and null are the same.
func (o object) field(key string) (json.RawMessage, bool) {
	raw, ok := o[key]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, false
	}
	return raw, true
}

// optionalString reads a string of at most max characters; absent is "".
func (o object) optionalString(key string, max int) (string, error) {
	raw, ok := o.field(key)
	if !ok {
		return "", nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("%s must be a string", key)
	}
	if utf8.RuneCountInString(v) > max {
		return "", fmt.Errorf("%s longer than %d characters", key, max)
	}
	return v, nil
}

// requiredString is optionalString that refuses an absent or empty value.
func (o object) requiredString(key string, max int) (string, error) {
	v, err := o.optionalString(key, max)
	if err == nil && v == "" {
		err = fmt.Errorf("%s is required", key)
	}
	return v, err
}

// optionalCount reads a non-negative integer; absent is nil.
func (o object) optionalCount(key string) (*int, error) {
	raw, ok := o.field(key)
	if !ok {
		return nil, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 {
		return nil, fmt.Errorf("%s must be a non-negative integer", key)
	}
	return &n, nil
}

// list reads a required array of 1 to max elements.
func (o object) list(key string, max int) ([]json.RawMessage, error) {
	raw, ok := o.field(key)
	if !ok {
		return nil, fmt.Errorf("%s is required", key)
	}
	var v []json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%s must be an array", key)
	}
	if len(v) == 0 || len(v) > max {
		return nil, fmt.Errorf("%s must hold 1 to %d entries, not %d", key, max, len(v))
	}
	return v, nil
}
