package data

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLoadMedQuAD(t *testing.T) {
	rows, format, err := Load(medquadPath(t), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if format != FormatCSV {
		t.Errorf("format %q, want %q", format, FormatCSV)
	}
	// Counts from files/README.md.
	if len(rows) != 16407 {
		t.Fatalf("%d rows, want 16407", len(rows))
	}
	want := map[string]int{
		"information": 4535, "symptoms": 2748, "treatment": 2442, "inheritance": 1446, "frequency": 1120,
		"genetic changes": 1087, "causes": 727, "exams and tests": 653, "research": 395, "outlook": 361,
		"susceptibility": 324, "considerations": 235, "prevention": 210, "stages": 77, "complications": 46,
		"support groups": 1,
	}
	wantSource := map[string]int{"GHR": 5430, "GARD": 5389, "NIDDK": 1192, "NINDS": 1088, "MPlusHealthTopics": 981,
		"NIHSeniorHealth": 769, "CancerGov": 729, "NHLBI": 559, "CDC": 270}
	got, gotSource := map[string]int{}, map[string]int{}
	for _, r := range rows {
		got[r.QType]++
		gotSource[r.Source]++
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("qtype %q: %d rows, want %d", k, got[k], n)
		}
	}
	for k, n := range wantSource {
		if gotSource[k] != n {
			t.Errorf("source %q: %d rows, want %d", k, gotSource[k], n)
		}
	}
	first := Row{ID: "medquad_qa-1", Question: "What is (are) Adult Acute Lymphoblastic Leukemia ?",
		QType: "information", Focus: "Adult Acute Lymphoblastic Leukemia", Source: "CancerGov"}
	r := rows[0]
	if !strings.HasPrefix(r.Answer, "Key Points\n") {
		t.Errorf("first answer starts %q, want the raw text with its newlines", r.Answer[:20])
	}
	r.Answer = ""
	if r != first {
		t.Errorf("first row %+v, want %+v", r, first)
	}
	if last := rows[len(rows)-1]; last.ID != "medquad_qa-16407" {
		t.Errorf("last ID %q", last.ID)
	}
	// 14,979 distinct question strings (files/README.md) are
	// 14,298 questions once normalised (a Python \w-word count agrees).
	strs, keys := map[string]bool{}, map[string]bool{}
	for _, r := range rows {
		strs[r.Question] = true
		keys[QuestionKey(r.Question)] = true
	}
	if len(strs) != 14979 || len(keys) != 14298 {
		t.Errorf("%d distinct questions, %d keys; want 14979 and 14298", len(strs), len(keys))
	}
}

// A plain file loads exactly like its gzip version.
func TestLoadPlainEqualsGzip(t *testing.T) {
	f, err := os.Open(pubmedqaPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(t.TempDir(), "pubmedqa_ori_pqal.json")
	out, err := os.Create(plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	out.Close()
	a := mustLoad(t, plain, LoadOptions{PubMedQAContext: true})
	b := mustLoad(t, pubmedqaPath(t), LoadOptions{PubMedQAContext: true})
	if len(a) != len(b) {
		t.Fatalf("%d rows plain, %d gzip", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("row %d differs:\n%+v\n%+v", i, a[i], b[i])
		}
	}
}

func TestLoadPubMedQA(t *testing.T) {
	// The reference: the same file decoded by encoding/json into a map.
	f, err := os.Open(pubmedqaPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]struct {
		QUESTION, LONG_ANSWER string
		CONTEXTS, LABELS      []string
	}
	if err := json.NewDecoder(zr).Decode(&ref); err != nil {
		t.Fatal(err)
	}

	for _, withContext := range []bool{false, true} {
		rows := mustLoad(t, pubmedqaPath(t), LoadOptions{PubMedQAContext: withContext})
		if len(rows) != 1000 || len(ref) != 1000 {
			t.Fatalf("%d rows, reference %d; want 1000", len(rows), len(ref))
		}
		// File order, as `head` shows it.
		if rows[0].ID != "pubmedqa_ori_pqal-21645374" || rows[1].ID != "pubmedqa_ori_pqal-16418930" {
			t.Errorf("first IDs %q, %q: want file order", rows[0].ID, rows[1].ID)
		}
		for _, r := range rows {
			pmid := strings.TrimPrefix(r.ID, "pubmedqa_ori_pqal-")
			want, ok := ref[pmid]
			if !ok {
				t.Fatalf("row %s: no such PMID", r.ID)
			}
			if r.Question != want.QUESTION || r.Answer != want.LONG_ANSWER || r.Source != PubMedQASource {
				t.Fatalf("row %s: %+v", r.ID, r)
			}
			if !withContext {
				if r.Context != "" {
					t.Fatalf("row %s has context without the option", r.ID)
				}
				continue
			}
			lines := strings.Split(r.Context, "\n")
			if len(lines) != len(want.CONTEXTS) {
				t.Fatalf("row %s: %d context lines, want %d", r.ID, len(lines), len(want.CONTEXTS))
			}
			for i, l := range lines {
				if l != want.LABELS[i]+": "+want.CONTEXTS[i] {
					t.Fatalf("row %s context %d: %q", r.ID, i, l)
				}
			}
		}
	}
}

// The two-column MLE CSV gets its qtype and focus from the question; the
// reference is MedQuAD's own label for the same question.
func TestLoadTwoColumnCSV(t *testing.T) {
	labels := map[string]Row{}
	for _, r := range mustLoad(t, medquadPath(t), LoadOptions{}) {
		labels[r.Question] = r
	}
	rows := mustLoad(t, "testdata/mle_screening_sample.csv", LoadOptions{})
	if len(rows) != 45 {
		t.Fatalf("%d rows, want 45", len(rows))
	}
	qtypes := map[string]bool{}
	for i, r := range rows {
		want, ok := labels[r.Question]
		if !ok {
			t.Fatalf("%s: question %q is not in MedQuAD", r.ID, r.Question)
		}
		if r.ID != "mle_screening_sample-"+strconv.Itoa(i+1) || r.Source != "mle_screening_sample" {
			t.Errorf("row %d: ID %q, source %q", i, r.ID, r.Source)
		}
		if r.QType != want.QType {
			t.Errorf("%q: qtype %q, MedQuAD says %q", r.Question, r.QType, want.QType)
		}
		if r.Focus != "" && !strings.EqualFold(r.Focus, want.Focus) {
			t.Errorf("%q: focus %q, MedQuAD says %q", r.Question, r.Focus, want.Focus)
		}
		qtypes[r.QType] = true
	}
	if len(qtypes) != 16 {
		t.Errorf("fixture covers %d qtypes, want all 16", len(qtypes))
	}
}

// Columns are found by header name, in any order and any case; unknown
// columns are ignored; a row's empty qtype or source is filled in.
func TestLoadCSVHeader(t *testing.T) {
	p := writeTemp(t, "mixed.csv", "\uFEFFid,Answer, QUESTION ,source,qtype\n"+
		"7,It is a disease.,What is (are) Gout ?,,\n"+
		"8,Rest.,How is gout treated?,NIAMS,Treatment\n")
	rows := mustLoad(t, p, LoadOptions{})
	want := []Row{
		{ID: "mixed-1", Question: "What is (are) Gout ?", Answer: "It is a disease.", QType: "information", Focus: "Gout", Source: "mixed"},
		{ID: "mixed-2", Question: "How is gout treated?", Answer: "Rest.", QType: "treatment", Source: "NIAMS"},
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d: %+v\nwant %+v", i, rows[i], want[i])
		}
	}
}

// Issue 16: the loader counted lines from the start of the file for every item, so loading
// was quadratic in the file's size. Each byte is now counted once.
func TestLoadPubMedQALinear(t *testing.T) {
	var scanned int64
	var size int
	scannedHook = func(n int64, s int) { scanned, size = n, s }
	defer func() { scannedHook = nil }()
	rows := mustLoad(t, pubmedqaPath(t), LoadOptions{})
	if len(rows) != 1000 || size == 0 || scanned > int64(size) {
		t.Fatalf("%d rows: counted lines in %d bytes of a %d-byte file; want each byte at most once", len(rows), scanned, size)
	}
}
