// Command tlog-verify checks logwarden's verifiable log with Go's independent implementation
// of the same standards (golang.org/x/mod/sumdb/note and sumdb/tlog).
//
//	tlog-verify log DIR      verify a log directory written by logwarden's TypeScript code
//	tlog-verify genkey NAME  generate a note key with Go and sign a note (text on stdin)
//
// The log directory holds: vkey (the verifier key), checkpoint and checkpoint.old (signed
// notes), leaves (lines "<index> <base64 leaf data>" of sampled leaves), the tiles of the
// newer checkpoint at Go's paths (tile/8/<L>/<N>[.p/<W>]) and the entry bundles at the C2SP
// paths (tile/entries/<N>[.p/<W>]). The result is one JSON line on stdout; any failure exits 1
// with the reason on stderr.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	if len(os.Args) != 3 {
		fail(errors.New("usage: tlog-verify log DIR | tlog-verify genkey NAME"))
	}
	var err error
	switch os.Args[1] {
	case "log":
		err = verifyLog(os.Args[2])
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
func openCheckpoint(path string, verifiers note.Verifiers) (checkpoint, error) {
	msg, err := os.ReadFile(path)
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

// dirTiles reads tiles from the directory at Go's tile paths.
type dirTiles struct {
	dir  string
	read int
}

func (d *dirTiles) Height() int { return 8 }

func (d *dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(filepath.Join(d.dir, filepath.FromSlash(t.Path())))
		if err != nil {
			return nil, err
		}
		out[i] = data
		d.read++
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

func verifyLog(dir string) error {
	vkey, err := os.ReadFile(filepath.Join(dir, "vkey"))
	if err != nil {
		return err
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return fmt.Errorf("vkey: %w", err)
	}
	verifiers := note.VerifierList(v)
	cur, err := openCheckpoint(filepath.Join(dir, "checkpoint"), verifiers)
	if err != nil {
		return err
	}
	old, err := openCheckpoint(filepath.Join(dir, "checkpoint.old"), verifiers)
	if err != nil {
		return err
	}
	if old.origin != cur.origin {
		return errors.New("the two checkpoints have different origins")
	}

	tiles := &dirTiles{dir: dir}
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
	f, err := os.Open(filepath.Join(dir, "leaves"))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
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

	audited, err := auditBundles(dir, cur.tree.N, hr)
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
		TilesRead:    tiles.read,
		StoredHashes: tlog.StoredHashCount(cur.tree.N),
	})
}

// auditBundles reads every entry bundle, decodes it (big-endian uint16 length, then the
// entry) and checks that each entry's record hash is the leaf hash in the authenticated tiles.
func auditBundles(dir string, size int64, hr tlog.HashReader) (int64, error) {
	var audited int64
	for n := int64(0); n*256 < size; n++ {
		w := size - n*256
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: 8, L: 0, N: n, W: int(w)}
		path := strings.Replace(t.Path(), "tile/8/0/", "tile/entries/", 1)
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path)))
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
