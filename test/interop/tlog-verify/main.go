// Command tlog-verify checks logwarden's verifiable log with Go's independent implementation
// of the same standards (golang.org/x/mod/sumdb/note and sumdb/tlog).
//
//	tlog-verify log DIR              verify a log directory written by logwarden's TypeScript code
//	tlog-verify server URL DIR       verify a running server's log: URL is the tenant's log prefix
//	                                 (…/v2/tlog/<tenantId>/), credentials in $TLOG_AUTHORIZATION
//	tlog-verify genkey NAME          generate a note key with Go and sign a note (text on stdin)
//
// The log directory holds: vkey (the verifier key), checkpoint and checkpoint.old (signed
// notes), leaves (lines "<index> <base64 leaf data>" of sampled leaves), the tiles of the
// newer checkpoint at Go's paths (tile/8/<L>/<N>[.p/<W>]) and the entry bundles at the C2SP
// paths (tile/entries/<N>[.p/<W>]). The result is one JSON line on stdout; any failure exits 1
// with the reason on stderr.
//
// Against a server, the verifier key, the newer checkpoint, the tiles and the entry bundles are
// read over HTTP (Go's tile/8/<L>/<N> mapped to the C2SP tile/<L>/<N>); checkpoint.old and
// leaves come from DIR.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	if len(os.Args) < 3 || (os.Args[1] == "server") != (len(os.Args) == 4) {
		fail(errors.New("usage: tlog-verify log DIR | tlog-verify server URL DIR | tlog-verify genkey NAME"))
	}
	var err error
	switch os.Args[1] {
	case "log":
		err = verifyLog(dirSource(os.Args[2]))
	case "server":
		err = verifyLog(serverSource(os.Args[2], os.Args[3], os.Getenv("TLOG_AUTHORIZATION")))
	case "genkey":
		err = genKey(os.Args[2])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tlog-verify:", err)
	os.Exit(1)
}

type checkpoint struct {
	origin string
	tree   tlog.Tree
}

// openCheckpoint verifies the note's signature with Go's note package and parses the
// checkpoint body (tlog.ParseTree expects the go.sum origin, so the three lines are read here).
func openCheckpoint(read source, path string, verifiers note.Verifiers) (checkpoint, error) {
	msg, err := read(path)
	if err != nil {
		return checkpoint{}, err
	}
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return checkpoint{}, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, fmt.Errorf("%s: short checkpoint", filepath.Base(path))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 1 || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("%s: bad tree size %q", filepath.Base(path), lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return checkpoint{}, fmt.Errorf("%s: bad root hash: %w", filepath.Base(path), err)
	}
	if lines[0] != n.Sigs[0].Name {
		return checkpoint{}, fmt.Errorf("%s: origin %q is not the key name %q", filepath.Base(path), lines[0], n.Sigs[0].Name)
	}
	return checkpoint{origin: lines[0], tree: tlog.Tree{N: size, Hash: root}}, nil
}

// source reads the log's files by name: vkey, checkpoint, checkpoint.old, leaves, Go tile
// paths (tile/8/<L>/<N>[.p/<W>]) and C2SP entry bundle paths (tile/entries/<N>[.p/<W>]).
type source func(name string) ([]byte, error)

func dirSource(dir string) source {
	return func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, filepath.FromSlash(name))) }
}

// serverSource reads from a running logwarden: base is the tenant's log prefix, ending in /.
func serverSource(base, dir, authorization string) source {
	local := dirSource(dir)
	return func(name string) ([]byte, error) {
		path := name
		switch {
		case name == "checkpoint.old" || name == "leaves":
			return local(name)
		case name == "vkey":
			path = "key"
		case strings.HasPrefix(name, "tile/8/"):
			path = "tile/" + strings.TrimPrefix(name, "tile/8/")
		}
		req, err := http.NewRequest("GET", base+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", authorization)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return body, nil
	}
}

// dirTiles reads tiles through the source at Go's tile paths.
type dirTiles struct {
	read  source
	count int
}

func (d *dirTiles) Height() int { return 8 }

func (d *dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := d.read(t.Path())
		if err != nil {
			return nil, err
		}
		out[i] = data
		d.count++
	}
	return out, nil
}

func (d *dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

type result struct {
	Origin       string `json:"origin"`
	Size         int64  `json:"size"`
	OldSize      int64  `json:"oldSize"`
	Root         string `json:"root"`
	Included     int    `json:"included"`
	Audited      int64  `json:"audited"`
	Consistent   bool   `json:"consistent"`
	TilesRead    int    `json:"tilesRead"`
	StoredHashes int64  `json:"storedHashes"`
}

func verifyLog(read source) error {
	vkey, err := read("vkey")
	if err != nil {
		return err
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return fmt.Errorf("vkey: %w", err)
	}
	verifiers := note.VerifierList(v)
	cur, err := openCheckpoint(read, "checkpoint", verifiers)
	if err != nil {
		return err
	}
	old, err := openCheckpoint(read, "checkpoint.old", verifiers)
	if err != nil {
		return err
	}
	if old.origin != cur.origin {
		return errors.New("the two checkpoints have different origins")
	}

	tiles := &dirTiles{read: read}
	// TileHashReader authenticates every tile it loads against the checkpoint's root.
	hr := tlog.TileHashReader(cur.tree, tiles)
	th, err := tlog.TreeHash(cur.tree.N, hr)
	if err != nil {
		return fmt.Errorf("tree hash from tiles: %w", err)
	}
	if th != cur.tree.Hash {
		return errors.New("tree hash from tiles differs from the checkpoint")
	}

	included := 0
	leaves, err := read("leaves")
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(strings.NewReader(string(leaves)))
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		index, data, err := parseLeafLine(sc.Text())
		if err != nil {
			return err
		}
		leaf := tlog.RecordHash(data)
		p, err := tlog.ProveRecord(cur.tree.N, index, hr)
		if err != nil {
			return fmt.Errorf("prove leaf %d: %w", index, err)
		}
		if err := tlog.CheckRecord(p, cur.tree.N, cur.tree.Hash, index, leaf); err != nil {
			return fmt.Errorf("leaf %d: %w", index, err)
		}
		stored, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
		if err != nil {
			return err
		}
		if stored[0] != leaf {
			return fmt.Errorf("leaf %d: the level 0 tile holds another hash", index)
		}
		included++
	}
	if err := sc.Err(); err != nil {
		return err
	}

	audited, err := auditBundles(read, cur.tree.N, hr)
	if err != nil {
		return err
	}

	tp, err := tlog.ProveTree(cur.tree.N, old.tree.N, hr)
	if err != nil {
		return fmt.Errorf("prove consistency: %w", err)
	}
	if err := tlog.CheckTree(tp, cur.tree.N, cur.tree.Hash, old.tree.N, old.tree.Hash); err != nil {
		return fmt.Errorf("consistency %d -> %d: %w", old.tree.N, cur.tree.N, err)
	}

	return json.NewEncoder(os.Stdout).Encode(result{
		Origin:       cur.origin,
		Size:         cur.tree.N,
		OldSize:      old.tree.N,
		Root:         cur.tree.Hash.String(),
		Included:     included,
		Audited:      audited,
		Consistent:   true,
		TilesRead:    tiles.count,
		StoredHashes: tlog.StoredHashCount(cur.tree.N),
	})
}

// auditBundles reads every entry bundle, decodes it (big-endian uint16 length, then the
// entry) and checks that each entry's record hash is the leaf hash in the authenticated tiles.
func auditBundles(read source, size int64, hr tlog.HashReader) (int64, error) {
	var audited int64
	for n := int64(0); n*256 < size; n++ {
		w := size - n*256
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: 8, L: 0, N: n, W: int(w)}
		path := strings.Replace(t.Path(), "tile/8/0/", "tile/entries/", 1)
		data, err := read(path)
		if err != nil {
			return audited, err
		}
		indexes := make([]int64, w)
		for i := range indexes {
			indexes[i] = tlog.StoredHashIndex(0, n*256+int64(i))
		}
		hashes, err := hr.ReadHashes(indexes)
		if err != nil {
			return audited, fmt.Errorf("%s: %w", path, err)
		}
		for i := int64(0); i < w; i++ {
			if len(data) < 2 {
				return audited, fmt.Errorf("%s: truncated", path)
			}
			l := int(data[0])<<8 | int(data[1])
			if len(data) < 2+l {
				return audited, fmt.Errorf("%s: truncated", path)
			}
			if tlog.RecordHash(data[2:2+l]) != hashes[i] {
				return audited, fmt.Errorf("%s: entry %d does not match its leaf hash", path, i)
			}
			data = data[2+l:]
			audited++
		}
		if len(data) != 0 {
			return audited, fmt.Errorf("%s: trailing bytes", path)
		}
	}
	return audited, nil
}

func parseLeafLine(line string) (int64, []byte, error) {
	i := strings.IndexByte(line, ' ')
	if i < 0 {
		return 0, nil, fmt.Errorf("bad leaves line %q", line)
	}
	index, err := strconv.ParseInt(line[:i], 10, 64)
	if err != nil {
		return 0, nil, err
	}
	data, err := base64.StdEncoding.DecodeString(line[i+1:])
	return index, data, err
}

type generated struct {
	Skey string `json:"skey"`
	Vkey string `json:"vkey"`
	Note string `json:"note"`
}

func genKey(name string) error {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return err
	}
	text, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, s)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(generated{Skey: skey, Vkey: vkey, Note: string(msg)})
}
