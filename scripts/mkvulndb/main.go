// Command mkvulndb turns a folder of Go OSV files (golang.org/x/vulndb's
// data/osv) into the v1 database layout that `govulncheck -db file://DIR`
// reads: index/db.json, index/modules.json and ID/<id>.json.
// Usage: mkvulndb -osv SRC -out DIR [-modified RFC3339]
package main

import (
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}
type module struct {
	Path  string `json:"path"`
	Vulns []vuln `json:"vulns"`
}

func main() {
	src := flag.String("osv", "", "folder of <ID>.json OSV files")
	out := flag.String("out", "", "database folder to write")
	mod := flag.String("modified", "", "database modified time (RFC 3339); default: newest entry")
	flag.Parse()
	if *src == "" || *out == "" {
		log.Fatal("usage: mkvulndb -osv SRC -out DIR [-modified TIME]")
	}
	files, err := filepath.Glob(filepath.Join(*src, "*.json"))
	if err != nil || len(files) == 0 {
		log.Fatalf("no OSV files in %s (%v)", *src, err)
	}
	for _, d := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(*out, d), 0o755); err != nil {
			log.Fatal(err)
		}
	}
	var newest time.Time
	mods := map[string]*module{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			log.Fatal(err)
		}
		var e struct {
			ID       string    `json:"id"`
			Modified time.Time `json:"modified"`
			Affected []struct {
				Package struct{ Name string } `json:"package"`
			} `json:"affected"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			log.Fatalf("%s: %v", f, err)
		}
		if e.ID == "" || e.ID+".json" != filepath.Base(f) || strings.ContainsAny(e.ID, `/\`) {
			log.Fatalf("%s: id %q does not match the file name", f, e.ID)
		}
		if e.Modified.After(newest) {
			newest = e.Modified
		}
		seen := map[string]bool{}
		for _, a := range e.Affected {
			p := a.Package.Name
			if seen[p] {
				continue
			}
			seen[p] = true
			if mods[p] == nil {
				mods[p] = &module{Path: p}
			}
			mods[p].Vulns = append(mods[p].Vulns, vuln{ID: e.ID, Modified: e.Modified})
		}
		if err := os.WriteFile(filepath.Join(*out, "ID", e.ID+".json"), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if *mod != "" {
		if newest, err = time.Parse(time.RFC3339, *mod); err != nil {
			log.Fatal(err)
		}
	}
	list := make([]*module, 0, len(mods))
	for _, m := range mods {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	write := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*out, "index", name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	write("db.json", map[string]time.Time{"modified": newest})
	write("modules.json", list) // written last: govulncheck takes its presence as "v1 layout"
	log.Printf("mkvulndb: %d entries, %d modules -> %s", len(files), len(list), *out)
}
