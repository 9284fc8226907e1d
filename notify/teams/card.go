package teams

// The Adaptive Card 1.4 subset driftd renders. Only elements and
// properties of schema 1.4 appear (no msteams extensions, no mention
// entities), so every Teams client renders the cards the same way.

// Envelope and card constants.
const (
	messageType     = "message"
	cardContentType = "application/vnd.microsoft.card.adaptive"
	cardSchema      = "http://adaptivecards.io/schemas/adaptive-card.json"
	cardType        = "AdaptiveCard"
	// CardVersion is the Adaptive Card schema version of every card.
	CardVersion = "1.4"
)

// Element and action types.
const (
	typeTextBlock = "TextBlock"
	typeContainer = "Container"
	typeFactSet   = "FactSet"
	typeActionSet = "ActionSet"
	typeOpenURL   = "Action.OpenUrl"
)

// Colours (TextBlock color) and container styles.
const (
	colorDefault   = "default"
	colorAttention = "attention"
	colorWarning   = "warning"
	colorAccent    = "accent"
	colorGood      = "good"
)

// message is the body of a Workflows webhook POST.
type message struct {
	Type        string       `json:"type"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	ContentType string `json:"contentType"`
	// ContentURL is always null; Workflows expects the key.
	ContentURL *string `json:"contentUrl"`
	Content    card    `json:"content"`
}

type card struct {
	Schema  string    `json:"$schema"`
	Type    string    `json:"type"`
	Version string    `json:"version"`
	Body    []element `json:"body"`
	Actions []action  `json:"actions"`
}

// element is any body element; the zero fields of other types are
// omitted.
type element struct {
	Type string `json:"type"`

	// TextBlock.
	Text     string `json:"text,omitempty"`
	Wrap     bool   `json:"wrap,omitempty"`
	Weight   string `json:"weight,omitempty"`
	Size     string `json:"size,omitempty"`
	Color    string `json:"color,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`

	// Container.
	Style string    `json:"style,omitempty"`
	Items []element `json:"items,omitempty"`

	// FactSet.
	Facts []fact `json:"facts,omitempty"`

	// ActionSet.
	Actions []action `json:"actions,omitempty"`

	// Any element.
	Spacing   string `json:"spacing,omitempty"`
	Separator bool   `json:"separator,omitempty"`
}

type fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

func textBlock(text string) element {
	return element{Type: typeTextBlock, Text: text, Wrap: true}
}

func container(style string, items ...element) element {
	return element{Type: typeContainer, Style: style, Items: items}
}

func factSet(facts []fact) element {
	return element{Type: typeFactSet, Facts: facts}
}

func openURL(title, url string) element {
	return element{Type: typeActionSet, Actions: []action{{Type: typeOpenURL, Title: title, URL: url}}}
}
