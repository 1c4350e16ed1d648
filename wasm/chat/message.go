package chat

// Message is one turn of a conversation, as in Hugging Face chat templates.
type Message struct {
	Role    string `json:"role"` // system, user or assistant
	Content string `json:"content"`
}
