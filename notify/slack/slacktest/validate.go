package slacktest

import (
	"fmt"
	"unicode/utf16"
)

// Slack's documented message limits.
const (
	MaxBlocks        = 50
	MaxSectionText   = 3000
	MaxSectionFields = 10
	MaxFieldText     = 2000
	MaxHeaderText    = 150
	MaxContextItems  = 10
	MaxMarkdownText  = 12000
	MaxMessageText   = 40000
	MaxBlockID       = 255
)

// Validate reports what about a message (its text and its blocks as a
// JSON array) Slack would refuse; nil means it would be accepted.
func Validate(text string, blocks []byte) []string {
	_, problems, _ := parse(text, blocks)
	return problems
}

// width counts UTF-16 code units, the strictest reading of Slack's
// "characters".
func width(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// check validates a decoded message and returns the problems and the
// error code Slack would answer with.
func check(text string, blocks []map[string]any) ([]string, string) {
	if text == "" && len(blocks) == 0 {
		return []string{"text or blocks required"}, "no_text"
	}
	if width(text) > MaxMessageText {
		return []string{fmt.Sprintf("text: %d characters, more than %d", width(text), MaxMessageText)}, "msg_too_long"
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(blocks) > MaxBlocks {
		add("blocks: %d blocks, more than %d", len(blocks), MaxBlocks)
	}
	ids := map[string]bool{}
	markdown := 0
	for i, b := range blocks {
		at := fmt.Sprintf("blocks[%d]", i)
		if id, ok := b["block_id"]; ok {
			s, isString := id.(string)
			switch {
			case !isString || s == "" || len(s) > MaxBlockID:
				add("%s.block_id: must be a string of 1-%d characters", at, MaxBlockID)
			case ids[s]:
				add("%s.block_id: %q is not unique", at, s)
			}
			ids[s] = true
		}
		typ, _ := b["type"].(string)
		switch typ {
		case "section":
			text, hasText := b["text"]
			fields, hasFields := b["fields"]
			if !hasText && !hasFields {
				add("%s: a section needs text or fields", at)
			}
			if hasText {
				checkText(add, at+".text", text, MaxSectionText, false)
			}
			if hasFields {
				list, ok := fields.([]any)
				if !ok || len(list) == 0 || len(list) > MaxSectionFields {
					add("%s.fields: must be 1-%d text objects", at, MaxSectionFields)
				}
				for j, f := range list {
					checkText(add, fmt.Sprintf("%s.fields[%d]", at, j), f, MaxFieldText, false)
				}
			}
		case "header":
			checkText(add, at+".text", b["text"], MaxHeaderText, true)
		case "context":
			list, ok := b["elements"].([]any)
			if !ok || len(list) == 0 || len(list) > MaxContextItems {
				add("%s.elements: must be 1-%d elements", at, MaxContextItems)
			}
			for j, e := range list {
				el, _ := e.(map[string]any)
				if t, _ := el["type"].(string); t == "image" {
					if (el["image_url"] == nil && el["slack_file"] == nil) || el["alt_text"] == nil {
						add("%s.elements[%d]: an image needs image_url and alt_text", at, j)
					}
					continue
				}
				checkText(add, fmt.Sprintf("%s.elements[%d]", at, j), e, MaxSectionText, false)
			}
		case "markdown":
			s, _ := b["text"].(string)
			if s == "" {
				add("%s.text: required", at)
			}
			markdown += width(s)
		case "divider", "actions", "image", "input", "file", "rich_text", "video", "table":
			// Accepted as they are: driftd does not send these.
		case "":
			add("%s.type: required", at)
		default:
			add("%s.type: unknown block type %q", at, typ)
		}
	}
	if markdown > MaxMarkdownText {
		add("blocks: markdown blocks hold %d characters, more than %d", markdown, MaxMarkdownText)
	}
	if len(problems) > 0 {
		return problems, "invalid_blocks"
	}
	return nil, ""
}

// checkText validates a text composition object.
func checkText(add func(string, ...any), at string, v any, limit int, plainOnly bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		add("%s: must be a text object", at)
		return
	}
	typ, _ := obj["type"].(string)
	switch {
	case typ != "plain_text" && typ != "mrkdwn":
		add("%s.type: must be plain_text or mrkdwn, not %q", at, typ)
	case plainOnly && typ != "plain_text":
		add("%s.type: must be plain_text", at)
	case typ == "mrkdwn" && obj["emoji"] != nil:
		add("%s.emoji: not allowed with mrkdwn", at)
	}
	text, ok := obj["text"].(string)
	switch {
	case !ok || text == "":
		add("%s.text: required", at)
	case width(text) > limit:
		add("%s.text: %d characters, more than %d", at, width(text), limit)
	}
}
