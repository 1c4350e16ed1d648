// Package chat renders conversations with the Qwen2.5 chat templates (base
// and Instruct), as native ChatML rather than through a Jinja interpreter,
// which keeps the browser module small.
//
//	tmpl, err := chat.LoadFS(assets.Tokenizer, assets.TokenizerInstruct) // or chat.Base, chat.Instruct, chat.Named("base")
//	prompt, err := tmpl.Render([]chat.Message{{Role: "user", Content: "What is gout?"}}, true) // add_generation_prompt
//
// Parse accepts a tokenizer_config.json only if its chat_template is the
// Qwen2.5 template byte for byte, apart from the default system prompt, which
// it reads from there.
//
// The rules are the template's. The system turn comes first: the first
// message if it is a system message, else the default prompt ("You are a
// helpful assistant." for the base model, "You are Qwen, created by Alibaba
// Cloud. You are a helpful assistant." for Instruct). Later system messages
// become ordinary turns. Consecutive tool messages share one user turn in
// <tool_response> tags. Unknown roles and empty conversations are errors (the
// Jinja template silently drops unknown roles).
//
// Contents are inserted verbatim, as transformers does, so <|im_end|> typed by
// a user encodes as the special token: strip special tokens from untrusted
// content if users must not open turns of their own (see docs/security.md).
package chat
