package server_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"medqa/backend/engine"
	"medqa/backend/engine/fakemodel"
	"medqa/backend/server"
	"medqa/wasm/chat"
	"medqa/wasm/retrieve"
)

var testKB = []retrieve.Passage{
	{ID: "MPlusHealthTopics/0000001/1", Question: "What is (are) Glaucoma?", Focus: "Glaucoma", QType: "information", Source: "MPlusHealthTopics",
		URL: "https://www.nlm.nih.gov/medlineplus/glaucoma.html", Answer: "Glaucoma is a group of diseases that can damage the eye's optic nerve."},
	{ID: "NIHSeniorHealth/0000002/3", Question: "How to prevent Glaucoma?", Focus: "Glaucoma", QType: "prevention", Source: "NIHSeniorHealth",
		URL: "http://nihseniorhealth.gov/glaucoma/toc.html", Answer: "Early detection of glaucoma is the best protection."},
	{ID: "GARD/0000003/1", Question: "What is (are) Gout?", Focus: "Gout", QType: "information", Source: "GARD",
		URL: "https://rarediseases.info.nih.gov/gard/6539/gout", Answer: "Gout is a form of arthritis."},
	{ID: "GHR/0000004/1", Question: "What is (are) anemia?", Focus: "Anemia", QType: "information", Source: "GHR",
		URL: "https://ghr.nlm.nih.gov/condition/anemia", Answer: "Anemia is a lack of red blood cells."},
}

// ragHarness serves testKB with a fake model whose default RAG setting is ragDefault, and
// records the conversations the engine renders.
func ragHarness(t *testing.T, ragDefault bool) (*harness, func() []chat.Message) {
	var mu sync.Mutex
	var last []chat.Message
	h := newHarness(t, setup{mutate: func(o *server.Options) {
		_, b := fakemodel.New("fake-rag", "Glaucoma harms the optic nerve.", 0)
		render := b.Render
		b.Render = func(msgs []chat.Message) (string, error) {
			mu.Lock()
			last = append([]chat.Message(nil), msgs...)
			mu.Unlock()
			return render(msgs)
		}
		b.RAG = ragDefault
		o.Engine = engine.New(engine.Config{}, &b)
		o.Sources = server.NewSources(testKB)
	}})
	return h, func() []chat.Message {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

type sourcesFrame struct {
	Type    string          `json:"type"`
	Sources []server.Source `json:"sources"`
}

func checkGlaucomaSources(t *testing.T, srcs []server.Source) {
	t.Helper()
	// BM25's length normalisation puts the shorter passage first.
	if len(srcs) != 2 || srcs[0].ID != testKB[1].ID || srcs[1].ID != testKB[0].ID {
		t.Fatalf("sources %+v, want the two glaucoma passages, the shorter one first", srcs)
	}
	s := srcs[1]
	if s.Title != testKB[0].Question || s.Focus != "Glaucoma" || s.QType != "information" || s.Source != "MPlusHealthTopics" ||
		s.Organisation != "MedlinePlus (NLM)" || s.URL != testKB[0].URL || s.Text != testKB[0].Answer || !(s.Score < srcs[0].Score) {
		t.Fatalf("source %+v", s)
	}
}

func askRAG(t *testing.T, h *harness, rag *bool) (sourcesFrame, string) {
	c := h.mustDial("/ws/chat")
	msg := map[string]any{"type": "ask", "messages": []map[string]string{{"role": "user", "content": "What is glaucoma?"}}}
	if rag != nil {
		msg["rag"] = *rag
	}
	if err := c.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
	var sf sourcesFrame
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := c.ReadJSON(&sf); err != nil {
		t.Fatal(err)
	}
	text, _, done := readAnswer(t, c)
	if done.Type != "done" {
		t.Fatalf("end frame %+v", done)
	}
	return sf, text
}

// The sources frame comes before the first token; "rag" puts the passages into the
// prompt with the one template, and the model's default applies when it is absent.
func TestChatSocketSendsSourcesAndRAG(t *testing.T) {
	yes, no := true, false
	want := retrieve.Augment("What is glaucoma?", []retrieve.Passage{testKB[1], testKB[0]})
	for _, c := range []struct {
		name      string
		def       bool
		rag       *bool
		augmented bool
	}{{"default off", false, nil, false}, {"asked on", false, &yes, true}, {"default on", true, nil, true}, {"asked off", true, &no, false}} {
		t.Run(c.name, func(t *testing.T) {
			h, rendered := ragHarness(t, c.def)
			sf, text := askRAG(t, h, c.rag)
			if sf.Type != "sources" {
				t.Fatalf("first frame %+v, want sources", sf)
			}
			checkGlaucomaSources(t, sf.Sources)
			if text != "Glaucoma harms the optic nerve." {
				t.Fatalf("answer %q", text)
			}
			msgs := rendered()
			got := msgs[len(msgs)-1].Content
			if c.augmented && got != want || !c.augmented && got != "What is glaucoma?" {
				t.Fatalf("prompt's user turn:\n%s", got)
			}
		})
	}
}

func TestOpenAISources(t *testing.T) {
	h, rendered := ragHarness(t, false)
	res := h.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"What is glaucoma?"}],"rag":true}`, nil)
	var body struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Sources []server.Source `json:"sources"`
	}
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.StatusCode != 200 || len(body.Choices) != 1 {
		t.Fatalf("%d %+v", res.StatusCode, body)
	}
	checkGlaucomaSources(t, body.Sources)
	if msgs := rendered(); !strings.HasPrefix(msgs[len(msgs)-1].Content, "Answer the question using these passages") {
		t.Fatalf("rag: true did not augment: %q", msgs[len(msgs)-1].Content)
	}
	// Streamed: the first chunk carries them.
	res = h.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"What is glaucoma?"}],"stream":true}`, nil)
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var chunk struct {
				Sources []server.Source `json:"sources"`
			}
			if err := json.Unmarshal([]byte(line), &chunk); err != nil {
				t.Fatal(err)
			}
			checkGlaucomaSources(t, chunk.Sources)
			return
		}
	}
	t.Fatal("no chunk")
}

func TestSourcesAPI(t *testing.T) {
	h, _ := ragHarness(t, false)
	get := func(q string) (int, []server.Source) {
		res := h.do("GET", "/api/sources?"+q, "", nil)
		defer res.Body.Close()
		var body struct {
			Sources []server.Source `json:"sources"`
		}
		json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body.Sources
	}
	if code, srcs := get("q=What+is+glaucoma%3F"); code != 200 {
		t.Fatalf("%d", code)
	} else {
		checkGlaucomaSources(t, srcs)
	}
	if code, srcs := get("q=glaucoma&k=1"); code != 200 || len(srcs) != 1 || srcs[0].ID != testKB[1].ID {
		t.Fatalf("k=1: %d %+v", code, srcs)
	}
	if code, srcs := get("q=zebra"); code != 200 || srcs == nil || len(srcs) != 0 {
		t.Fatalf("no match: %d %#v (want an empty list)", code, srcs)
	}
	for _, q := range []string{"q=", "q=glaucoma&k=0", "q=glaucoma&k=21", "q=glaucoma&k=x"} {
		if code, _ := get(q); code != 400 {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
	plain := newHarness(t, setup{})
	res := plain.do("GET", "/api/sources?q=glaucoma", "", nil)
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Fatalf("no knowledge base: %d, want 503", res.StatusCode)
	}
}
