package chat_test

import (
	"fmt"

	"medqa/wasm/chat"
)

// A conversation without a system message gets the template's default one;
// the generation prompt opens the assistant's turn.
func ExampleTemplate_Render() {
	prompt, err := chat.Base.Render([]chat.Message{
		{Role: "user", Content: "What is gout?"},
		{Role: "assistant", Content: "A form of arthritis."},
		{Role: "user", Content: "Is it inherited?"},
	}, true)
	if err != nil {
		panic(err)
	}
	fmt.Print(prompt)
	// Output:
	// <|im_start|>system
	// You are a helpful assistant.<|im_end|>
	// <|im_start|>user
	// What is gout?<|im_end|>
	// <|im_start|>assistant
	// A form of arthritis.<|im_end|>
	// <|im_start|>user
	// Is it inherited?<|im_end|>
	// <|im_start|>assistant
}

// Unknown roles are refused rather than dropped, as the Jinja template would.
func ExampleTemplate_Render_unknownRole() {
	_, err := chat.Instruct.Render([]chat.Message{{Role: "doctor", Content: "hi"}}, true)
	fmt.Println(err)
	// Output:
	// chat: messages[0]: unknown role "doctor" (want system, user, assistant or tool)
}

// Consecutive tool results share one user turn.
func ExampleTemplate_Render_tools() {
	prompt, err := chat.Instruct.Render([]chat.Message{
		{Role: "system", Content: "Answer briefly."},
		{Role: "tool", Content: "42"},
		{Role: "tool", Content: "7"},
	}, false)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", prompt)
	// Output:
	// "<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\n<tool_response>\n42\n</tool_response>\n<tool_response>\n7\n</tool_response><|im_end|>\n"
}
