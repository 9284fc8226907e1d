package audit

import (
	"compress/gzip"
	"encoding/xml"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// This file reads Microsoft's published Graph v1.0 metadata (CSDL,
// testdata/graph-v1.0-metadata.xml.gz) into a small model that
// graphmeta_test.go checks requests and responses against: types with
// their inheritance, properties, navigation properties, alternate keys,
// enum members, the entity container and bound operations.

const graphMetadataFile = "testdata/graph-v1.0-metadata.xml.gz"

// edmProp is a structural or navigation property. Type is qualified
// ("microsoft.graph.webApplication", "Edm.String") and, for a collection,
// the element type.
type edmProp struct {
	Name       string
	Type       string
	Collection bool
	Nav        bool
	NotNull    bool // Nullable="false"
}

// edmType is an entity or complex type.
type edmType struct {
	Name     string // qualified
	BaseName string // qualified, "" for a root type
	Entity   bool
	Open     bool
	Props    map[string]edmProp // declared here, not inherited
	// AltKeys are the aliases usable as alternate keys, e.g. "appId" for
	// applications(appId='…').
	AltKeys []string

	base *edmType
}

// edmEnum is an enum type; Flags enums take comma-separated members.
type edmEnum struct {
	Name    string
	Flags   bool
	Members map[string]bool
}

// edmOperation is a bound function or action: what it is bound to and
// what it returns ("" for an action without a result).
type edmOperation struct {
	Name             string
	Function         bool
	Binding          string
	BindingColl      bool
	Return           string
	ReturnCollection bool
}

// edmSchema is the whole metadata document.
type edmSchema struct {
	types      map[string]*edmType
	enums      map[string]*edmEnum
	entitySets map[string]string // name → entity type
	singletons map[string]string // name → entity type
	operations map[string][]edmOperation
}

// prop finds a property on t or one of its base types.
func (t *edmType) prop(name string) (edmProp, bool) {
	for c := t; c != nil; c = c.base {
		if p, ok := c.Props[name]; ok {
			return p, true
		}
	}
	return edmProp{}, false
}

// altKey reports whether alias is an alternate key of t or a base type.
func (t *edmType) altKey(alias string) bool {
	for c := t; c != nil; c = c.base {
		for _, k := range c.AltKeys {
			if k == alias {
				return true
			}
		}
	}
	return false
}

// derivesFrom reports whether t is base or derives from it.
func (t *edmType) derivesFrom(base *edmType) bool {
	for c := t; c != nil; c = c.base {
		if c == base {
			return true
		}
	}
	return false
}

// boundOperation finds an operation named name bound to t (or a base
// type), as a collection or a single instance.
func (s *edmSchema) boundOperation(name string, t *edmType, collection bool) (edmOperation, bool) {
	for c := t; c != nil; c = c.base {
		for _, op := range s.operations[name] {
			if op.Binding == c.Name && op.BindingColl == collection {
				return op, true
			}
		}
	}
	return edmOperation{}, false
}

var (
	graphSchemaOnce sync.Once
	graphSchema     *edmSchema
	graphSchemaErr  error
)

// loadGraphSchema parses the vendored metadata once per test binary:
// it is 3.5 MB of XML, and read-only once built.
func loadGraphSchema(t *testing.T) *edmSchema {
	t.Helper()
	graphSchemaOnce.Do(func() { graphSchema, graphSchemaErr = readGraphSchema(graphMetadataFile) })
	if graphSchemaErr != nil {
		t.Fatalf("reading %s: %v", graphMetadataFile, graphSchemaErr)
	}
	return graphSchema
}

func readGraphSchema(path string) (*edmSchema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var doc xmlEdmx
	if err := xml.NewDecoder(gz).Decode(&doc); err != nil {
		return nil, err
	}
	return buildSchema(doc)
}

// ---- The CSDL XML, as far as the checks need it ----------------------------

type xmlEdmx struct {
	Schemas []xmlSchema `xml:"DataServices>Schema"`
}

type xmlSchema struct {
	Namespace  string         `xml:"Namespace,attr"`
	Alias      string         `xml:"Alias,attr"`
	Enums      []xmlEnum      `xml:"EnumType"`
	Complex    []xmlType      `xml:"ComplexType"`
	Entities   []xmlType      `xml:"EntityType"`
	Functions  []xmlOperation `xml:"Function"`
	Actions    []xmlOperation `xml:"Action"`
	Containers []xmlContainer `xml:"EntityContainer"`
}

type xmlEnum struct {
	Name    string `xml:"Name,attr"`
	IsFlags bool   `xml:"IsFlags,attr"`
	Members []struct {
		Name string `xml:"Name,attr"`
	} `xml:"Member"`
}

type xmlType struct {
	Name        string          `xml:"Name,attr"`
	BaseType    string          `xml:"BaseType,attr"`
	OpenType    bool            `xml:"OpenType,attr"`
	Props       []xmlProp       `xml:"Property"`
	Navs        []xmlProp       `xml:"NavigationProperty"`
	Annotations []xmlAnnotation `xml:"Annotation"`
}

type xmlProp struct {
	Name     string `xml:"Name,attr"`
	Type     string `xml:"Type,attr"`
	Nullable string `xml:"Nullable,attr"`
}

// xmlAnnotation and xmlRecord cover the AlternateKeys annotation:
// Collection > Record(AlternateKey) > PropertyValue(Key) > Collection >
// Record(PropertyRef) > PropertyValue(Alias).
type xmlAnnotation struct {
	Term    string      `xml:"Term,attr"`
	Records []xmlRecord `xml:"Collection>Record"`
}

type xmlRecord struct {
	Values []struct {
		Property string      `xml:"Property,attr"`
		String   string      `xml:"String,attr"`
		Records  []xmlRecord `xml:"Collection>Record"`
	} `xml:"PropertyValue"`
}

type xmlOperation struct {
	Name    string `xml:"Name,attr"`
	IsBound bool   `xml:"IsBound,attr"`
	Params  []struct {
		Type string `xml:"Type,attr"`
	} `xml:"Parameter"`
	Return *struct {
		Type string `xml:"Type,attr"`
	} `xml:"ReturnType"`
}

type xmlContainer struct {
	Sets []struct {
		Name       string `xml:"Name,attr"`
		EntityType string `xml:"EntityType,attr"`
	} `xml:"EntitySet"`
	Singletons []struct {
		Name string `xml:"Name,attr"`
		Type string `xml:"Type,attr"`
	} `xml:"Singleton"`
}

// ---- Building the model -----------------------------------------------------

// qualifier turns type references, which use a schema's alias ("graph.")
// or its namespace, into namespace-qualified names.
type qualifier map[string]string // alias → namespace

// name qualifies a non-collection type reference.
func (q qualifier) name(ref string) string {
	i := strings.LastIndexByte(ref, '.')
	if i < 0 {
		return ref
	}
	if ns, ok := q[ref[:i]]; ok {
		return ns + ref[i:]
	}
	return ref
}

// ref qualifies a type reference and unwraps Collection(…).
func (q qualifier) ref(ref string) (name string, collection bool) {
	if inner, ok := strings.CutPrefix(ref, "Collection("); ok {
		return q.name(strings.TrimSuffix(inner, ")")), true
	}
	return q.name(ref), false
}

func buildSchema(doc xmlEdmx) (*edmSchema, error) {
	q := qualifier{}
	for _, sc := range doc.Schemas {
		if sc.Alias != "" {
			q[sc.Alias] = sc.Namespace
		}
	}
	s := &edmSchema{
		types:      map[string]*edmType{},
		enums:      map[string]*edmEnum{},
		entitySets: map[string]string{},
		singletons: map[string]string{},
		operations: map[string][]edmOperation{},
	}
	for _, sc := range doc.Schemas {
		s.addSchema(q, sc)
	}
	return s, s.link()
}

func (s *edmSchema) addSchema(q qualifier, sc xmlSchema) {
	for _, e := range sc.Enums {
		enum := &edmEnum{Name: sc.Namespace + "." + e.Name, Flags: e.IsFlags, Members: map[string]bool{}}
		for _, m := range e.Members {
			enum.Members[m.Name] = true
		}
		s.enums[enum.Name] = enum
	}
	for _, x := range sc.Complex {
		s.addType(q, sc.Namespace, x, false)
	}
	for _, x := range sc.Entities {
		s.addType(q, sc.Namespace, x, true)
	}
	for _, op := range sc.Functions {
		s.addOperation(q, op, true)
	}
	for _, op := range sc.Actions {
		s.addOperation(q, op, false)
	}
	for _, c := range sc.Containers {
		for _, set := range c.Sets {
			s.entitySets[set.Name] = q.name(set.EntityType)
		}
		for _, one := range c.Singletons {
			s.singletons[one.Name] = q.name(one.Type)
		}
	}
}

func (s *edmSchema) addType(q qualifier, namespace string, x xmlType, entity bool) {
	t := &edmType{Name: namespace + "." + x.Name, Entity: entity, Open: x.OpenType, Props: map[string]edmProp{}}
	if x.BaseType != "" {
		t.BaseName = q.name(x.BaseType)
	}
	for _, p := range x.Props {
		name, coll := q.ref(p.Type)
		t.Props[p.Name] = edmProp{Name: p.Name, Type: name, Collection: coll, NotNull: p.Nullable == "false"}
	}
	for _, p := range x.Navs {
		name, coll := q.ref(p.Type)
		t.Props[p.Name] = edmProp{Name: p.Name, Type: name, Collection: coll, Nav: true}
	}
	for _, a := range x.Annotations {
		if a.Term == "Org.OData.Core.V1.AlternateKeys" {
			t.AltKeys = append(t.AltKeys, alternateKeyAliases(a.Records)...)
		}
	}
	s.types[t.Name] = t
}

// alternateKeyAliases collects the Alias of every PropertyRef of every
// AlternateKey record. Only single-property keys occur in Graph v1.0.
func alternateKeyAliases(keys []xmlRecord) []string {
	var out []string
	for _, key := range keys {
		for _, v := range key.Values {
			if v.Property != "Key" {
				continue
			}
			for _, ref := range v.Records {
				for _, rv := range ref.Values {
					if rv.Property == "Alias" {
						out = append(out, rv.String)
					}
				}
			}
		}
	}
	return out
}

func (s *edmSchema) addOperation(q qualifier, x xmlOperation, function bool) {
	if !x.IsBound || len(x.Params) == 0 {
		return
	}
	op := edmOperation{Name: x.Name, Function: function}
	op.Binding, op.BindingColl = q.ref(x.Params[0].Type)
	if x.Return != nil {
		op.Return, op.ReturnCollection = q.ref(x.Return.Type)
	}
	s.operations[op.Name] = append(s.operations[op.Name], op)
}

// link resolves every BaseType, failing on one the document lacks (the
// model would otherwise silently miss inherited properties).
func (s *edmSchema) link() error {
	for _, t := range s.types {
		if t.BaseName == "" {
			continue
		}
		base, ok := s.types[t.BaseName]
		if !ok {
			return fmt.Errorf("type %s: base type %s is not defined", t.Name, t.BaseName)
		}
		t.base = base
	}
	return nil
}
