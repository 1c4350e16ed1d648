package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestTokenizeLines(t *testing.T) {
	tok, tmpl, tmplErr, err := loadTokenize("", "instruct")
	if err != nil || tmplErr != nil {
		t.Fatal(err, tmplErr)
	}
	in := strings.Join([]string{
		`{"text": "Hello, my dog is cute"}`,
		`{"messages": [{"role": "user", "content": "Hello, my dog is cute"}], "add_generation_prompt": true}`,
		``,
		`not json`,
		`{"messages": [{"role": "doctor", "content": "x"}]}`,
		`{"text": ""}`,
		`{"text": "a", "messages": []}`,
		`{"text": "<|endoftext|>"}`, // no trailing newline: the last line still counts
	}, "\n")
	var out bytes.Buffer
	if err := tokenizeLines(strings.NewReader(in), &out, tok, tmpl, tmplErr); err != nil {
		t.Fatal(err)
	}
	// Ids of the first two lines from wasm/tokenizer/testdata/public_vectors.json.gz.
	want := strings.Join([]string{
		`{"ids":[9707,11,847,5562,374,18838]}`,
		`{"text":"<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello, my dog is cute<|im_end|>\n<|im_start|>assistant\n","ids":[151644,8948,198,2610,525,1207,16948,11,3465,553,54364,14817,13,1446,525,264,10950,17847,13,151645,198,151644,872,198,9707,11,847,5562,374,18838,151645,198,151644,77091,198]}`,
		`{"error":"line 4: bad JSON: invalid character 'o' in literal null (expecting 'u')"}`,
		`{"error":"line 5: chat: messages[0]: unknown role \"doctor\" (want system, user, assistant or tool)"}`,
		`{"ids":[]}`,
		`{"error":"line 7: want exactly one of \"text\" and \"messages\""}`,
		`{"ids":[151643]}`,
	}, "\n") + "\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
