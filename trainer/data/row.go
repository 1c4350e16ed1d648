// Package data turns raw medical question/answer files into clean,
// leak-free, chat-formatted training data: load (MedQuAD CSV, the two-column
// MLE screening CSV, PubMedQA JSON), clean, split, format and write.
package data

// Row is one question/answer pair, as written to the split files.
//
// ID is "<input name>-<n>": the input file's base name without its .gz and
// format extensions, then the 1-based data record number in a CSV (the
// header is record 0) or the PubMed ID in PubMedQA. It is stable as long as
// the input file is, and it names the record a row came from.
type Row struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
	QType    string `json:"qtype"`
	Focus    string `json:"focus,omitempty"`
	Source   string `json:"source"`
	// Context is PubMedQA's abstract, present only with --pubmedqa-context.
	Context string `json:"context,omitempty"`
	// Retrieved are the space-separated IDs of the training rows whose
	// answers AddRAG put into the user turn (--rag); augmented is that turn.
	Retrieved string `json:"retrieved,omitempty"`
	augmented string
}
