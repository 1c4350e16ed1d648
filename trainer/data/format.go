package data

import "medqa/wasm/chat"

// DefaultSystemPrompt is the system turn of every training conversation
// unless the caller chooses another. It is short on purpose: every training
// and inference sequence pays for it in tokens.
const DefaultSystemPrompt = "You are a medical question-answering assistant. Answer accurately and clearly."

// Messages formats the row as a chat: an optional system turn, the question
// as the user turn and the answer as the assistant turn. An empty system
// prompt leaves the system turn out, so a chat template may add its own.
func (r Row) Messages(system string) []chat.Message {
	msgs := make([]chat.Message, 0, 3)
	if system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: system})
	}
	msgs = append(msgs,
		chat.Message{Role: "user", Content: r.Prompt()},
		chat.Message{Role: "assistant", Content: r.Answer},
	)
	return msgs
}

// Prompt is the user turn: the question, preceded by its context when the
// row has one; with retrieval (AddRAG), the passages and that question.
func (r Row) Prompt() string {
	if r.augmented != "" {
		return r.augmented
	}
	if r.Context == "" {
		return r.Question
	}
	return "Context:\n" + r.Context + "\n\nQuestion: " + r.Question
}
