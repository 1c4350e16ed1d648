package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"medqa/trainer/atomicfile"
	"medqa/trainer/data"
	"medqa/trainer/eval"
	"medqa/wasm/retrieve"
)

func init() {
	register("kb", "build the retrieval knowledge base (one passage per MedQuAD answer) from the XML collection", runKB)
}

func runKB(args []string) error {
	fs := flag.NewFlagSet("kb", flag.ContinueOnError)
	in := fs.String("xml", "", "MedQuAD XML collection: a `DIR` of *.xml files, a .tar.gz of them, or a DIR holding such a .tar.gz")
	out := fs.String("out", "", "output `FILE` (.jsonl.gz: one passage per line)")
	recall := fs.String("recall", "", "instead: measure retrieval recall@3 on the test split of this split `DIR` (index: its train split), with the focus boost's ablation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *recall != "" {
		return kbRecall(*recall)
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("--xml and --out are required")
	}
	docs, err := readMedQuADXML(*in)
	if err != nil {
		return err
	}
	kb, st := buildKB(docs)
	ids := map[string]bool{}
	for _, p := range kb {
		if ids[p.ID] {
			return fmt.Errorf("passage id %q twice", p.ID)
		}
		ids[p.ID] = true
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	for _, p := range kb {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("read %d documents, %d QA pairs: kept %d passages; skipped %d with an empty answer (removed for copyright or blank), %d with an empty question, %d duplicate (question, answer) pairs\n",
		st.docs, st.pairs, len(kb), st.emptyAnswer, st.emptyQuestion, st.duplicate)
	fmt.Printf("wrote %s (%d bytes)\n", *out, buf.Len())
	return nil
}

// mqDoc is one MedQuAD XML document, as far as the knowledge base needs it.
type mqDoc struct {
	name   string // path inside the collection, for errors and ordering
	ID     string `xml:"id,attr"`
	Source string `xml:"source,attr"`
	URL    string `xml:"url,attr"`
	Focus  string `xml:"Focus"`
	Pairs  []struct {
		PID      string `xml:"pid,attr"`
		Question struct {
			QID   string `xml:"qid,attr"`
			QType string `xml:"qtype,attr"`
			Text  string `xml:",chardata"`
		} `xml:"Question"`
		Answer string `xml:"Answer"`
	} `xml:"QAPairs>QAPair"`
}

type kbStats struct{ docs, pairs, emptyAnswer, emptyQuestion, duplicate int }

// buildKB turns documents into passages, cleaned as `trainer data` cleans
// rows, in the collection's order: folder number, file name, pair.
func buildKB(docs []mqDoc) ([]retrieve.Passage, kbStats) {
	sort.Slice(docs, func(i, j int) bool { return docLess(docs[i].name, docs[j].name) })
	st := kbStats{docs: len(docs)}
	seen := map[[2]string]bool{}
	var kb []retrieve.Passage
	for _, d := range docs {
		for _, p := range d.Pairs {
			st.pairs++
			q := data.CleanQuestion(p.Question.Text)
			a := data.CleanText(p.Answer)
			switch {
			case a == "":
				st.emptyAnswer++
				continue
			case q == "":
				st.emptyQuestion++
				continue
			case seen[[2]string{q, a}]:
				st.duplicate++
				continue
			}
			seen[[2]string{q, a}] = true
			kb = append(kb, retrieve.Passage{
				// MedQuAD's own qid and document id repeat across files
				// (CancerGov copies them), so the id is the file's.
				ID:  d.Source + "/" + strings.TrimSuffix(path.Base(d.name), ".xml") + "/" + p.PID,
				Doc: d.name, Question: q, Answer: a,
				Focus: data.CleanLine(d.Focus), QType: p.Question.QType,
				Source: d.Source, URL: strings.TrimSpace(d.URL),
			})
		}
	}
	return kb, st
}

// docLess orders "3_GHR_QA/x.xml" by folder number, then by path.
func docLess(a, b string) bool {
	na, nb := folderNumber(a), folderNumber(b)
	if na != nb {
		return na < nb
	}
	return a < b
}

func folderNumber(name string) int {
	dir := path.Base(path.Dir(name))
	n, err := strconv.Atoi(strings.SplitN(dir, "_", 2)[0])
	if err != nil {
		return 1 << 30
	}
	return n
}

// readMedQuADXML reads every *.xml document of a directory tree, of a
// .tar.gz archive, or of the .tar.gz archives a directory holds.
func readMedQuADXML(root string) ([]mqDoc, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return readXMLTarGz(root)
	}
	var docs []mqDoc
	var archives []string
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		switch {
		case strings.HasSuffix(p, ".xml"):
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			d, err := parseMedQuADDoc(filepath.ToSlash(rel), b)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			docs = append(docs, d)
		case strings.HasSuffix(p, ".tar.gz"):
			archives = append(archives, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		for _, a := range archives {
			ds, err := readXMLTarGz(a)
			if err != nil {
				return nil, err
			}
			docs = append(docs, ds...)
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: no MedQuAD XML documents", root)
	}
	return docs, nil
}

func readXMLTarGz(file string) ([]mqDoc, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	tr := tar.NewReader(zr)
	var docs []mqDoc
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".xml") {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, h.Name, err)
		}
		d, err := parseMedQuADDoc(h.Name, b)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, h.Name, err)
		}
		docs = append(docs, d)
	}
}

func parseMedQuADDoc(name string, b []byte) (mqDoc, error) {
	var d mqDoc
	if err := xml.Unmarshal(b, &d); err != nil {
		return d, err
	}
	// The folder and the file ("1_CancerGov_QA/0000001_1.xml"), whatever
	// the archive's or directory's prefix.
	d.name = path.Join(path.Base(path.Dir(name)), path.Base(name))
	return d, nil
}

// kbRecall prints retrieval recall@3 on dir's test split as `trainer eval --rag` measures it
// (index: the train split, evaluated answers left out), the share of test rows whose focus
// occurs in the index at all (the ceiling), and the same recall for other focus boosts.
func kbRecall(dir string) error {
	test, err := eval.ReadSplit(dir, "test", 0)
	if err != nil {
		return err
	}
	g, err := eval.NewRAG(dir, test)
	if err != nil {
		return err
	}
	foci := map[string]bool{}
	for _, p := range g.KB {
		foci[strings.ToLower(p.Focus)] = true
	}
	ceiling := 0
	for _, r := range test {
		if r.Focus != "" && foci[strings.ToLower(r.Focus)] {
			ceiling++
		}
	}
	pct := func(n int) float64 { return 100 * float64(n) / float64(len(test)) }
	fmt.Printf("%d test rows; index: %d train passages (%d left out: their answer is a test answer)\n", len(test), len(g.KB), g.Excluded)
	fmt.Printf("ceiling: %d rows (%.2f%%) have a focus that some train passage has\n", ceiling, pct(ceiling))
	for _, boost := range []float64{0, 0.5, 1, 2, 4} {
		p := retrieve.DefaultParams
		p.FocusBoost = boost
		ix := retrieve.NewIndex(g.KB, p)
		found := 0
		t0 := time.Now()
		for _, r := range test {
			for _, h := range ix.Search(r.Question, eval.RAGTopK) {
				if r.Focus != "" && strings.EqualFold(g.KB[h.Doc].Focus, r.Focus) {
					found++
					break
				}
			}
		}
		mark := ""
		if boost == retrieve.DefaultParams.FocusBoost {
			mark = "  (default)"
		}
		fmt.Printf("focus boost %-3g recall@3 %.2f%% (%d rows), %.2f ms/query%s\n", boost, pct(found), found,
			float64(time.Since(t0).Microseconds())/1000/float64(len(test)), mark)
	}
	return nil
}
