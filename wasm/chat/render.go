package chat

import (
	"errors"
	"fmt"
	"strings"
)

// Render returns the conversation as the template's text. With
// addGenerationPrompt it ends with an open assistant turn for the model to
// complete. The rules are the template's:
//   - the text opens with a system turn: the first message if it is a
//     system message, else DefaultSystem;
//   - every later message becomes a turn of its role, including system
//     messages that are not first;
//   - consecutive tool messages share one user turn, each wrapped in
//     <tool_response> tags.
//
// An empty conversation is an error (the Jinja template fails on it too),
// and so is any role other than system, user, assistant and tool, which the
// Jinja template would drop without a word.
//
// Contents are inserted verbatim, as transformers does: "<|im_end|>" typed
// by a user becomes the special token when the text is encoded, so a server
// that must not let users open turns of their own should remove special
// tokens from untrusted content first.
func (t *Template) Render(msgs []Message, addGenerationPrompt bool) (string, error) {
	if len(msgs) == 0 {
		return "", errors.New("chat: no messages")
	}
	var b strings.Builder
	turn := func(role, content string) {
		b.WriteString(ImStart + role + "\n" + content + ImEnd + "\n")
	}
	if msgs[0].Role == "system" {
		turn("system", msgs[0].Content)
	} else {
		turn("system", t.DefaultSystem)
	}
	for i, m := range msgs {
		switch m.Role {
		case "system":
			if i > 0 {
				turn(m.Role, m.Content)
			}
		case "user", "assistant":
			turn(m.Role, m.Content)
		case "tool":
			if i == 0 || msgs[i-1].Role != "tool" {
				b.WriteString(ImStart + "user")
			}
			b.WriteString("\n<tool_response>\n" + m.Content + "\n</tool_response>")
			if i == len(msgs)-1 || msgs[i+1].Role != "tool" {
				b.WriteString(ImEnd + "\n")
			}
		default:
			return "", fmt.Errorf("chat: messages[%d]: unknown role %q (want system, user, assistant or tool)", i, m.Role)
		}
	}
	if addGenerationPrompt {
		b.WriteString(ImStart + "assistant\n")
	}
	return b.String(), nil
}
