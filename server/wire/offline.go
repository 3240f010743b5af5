package wire

// PathOfflineAnswer is the vendor portal's route: POST a request file's text, get the
// answer file's text (docs/server-api.md): the files of package token/offline.
const PathOfflineAnswer = "/v1/offline/answer"

// OfflineAnswerRequest is the body of POST PathOfflineAnswer.
type OfflineAnswerRequest struct {
	Request string `json:"request"`
}

// OfflineAnswer is the body of a successful POST PathOfflineAnswer.
type OfflineAnswer struct {
	Kind         string `json:"kind"`   // activate or deactivate
	Answer       string `json:"answer"` // the answer file's text
	ActivationID string `json:"activation_id"`
	// Freed: a deactivation freed a seat held until now (false when it
	// held none any more).
	Freed bool `json:"freed,omitempty"`
}
