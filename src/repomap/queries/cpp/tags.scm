; vibe repo-map tags: C++
;
; Capture convention (relied upon by src/repomap):
;   @definition.<kind>  whole definition node; kind is one of function, method, class,
;                       struct, enum, union, trait, interface, type, constant, macro,
;                       impl, module, namespace
;   @name               node whose text is the definition's name (exactly one per match)
;   @body               optional; signature = source[definition.start .. body.start]
;                       (no @body => the whole definition text is the signature)
;   @parent             optional; owner name when not given by lexical nesting
;   @import             whole import-like node, one match per statement
;   @package            package declaration (Java, Go)
;   @entry              program entry point (Python `if __name__ == "__main__":`)
;   @declarator.<how>   instead of @name, for functions: the declaration's declarator;
;                       the name (and, for `A::f`, the parent) is found in Rust
;                       (src/repomap/lang/c.rs, `function_names`): a function_declarator
;                       at most three wrappers down (two for `member`) whose own
;                       declarator is a name. <how>: `definition` (f, ~A, operator==,
;                       f<T>, A::f, A::B::f, Buf<T>::f), `declaration` (f, ~A,
;                       operator==), `member` (field name, ~A, operator==). A match
;                       whose declarator leads to no such name defines nothing.
; Captures whose name starts with `_` only feed predicates and must be ignored.
; `(#not-parent-kind? @capture kind...)` (evaluated in Rust, src/repomap/lang/mod.rs): the
; match is dropped when the captured node's parent is of one of the kinds.
;
; Notes:
; - Function names are found through up to three wrapper declarators (pointers,
;   references, a parenthesised function-pointer return type `void (*get(void))(int)`).
; - Prototypes (`declaration` with a function_declarator) are only reported outside
;   function bodies (file level, #if/#ifdef branches, extern "C" blocks, namespaces,
;   class bodies, templates). Inside bodies `Foo x(y);` parses as a prototype.
; - `typedef struct [Tag] { ... } Name;` is ONE definition (kind struct/union/enum/class
;   on the type_definition, @name = Name, signature `typedef struct Tag`); when Tag
;   differs from Name a second match on the SAME node has @name = Tag (dedupe by
;   (node, name)). Specifiers with a body are otherwise reported where they appear
;   (file level, #if branches, `struct X {..} x;`, nested in a struct, namespaces, templates).
; - Other typedefs are `type`; `typedef A x, *px;` yields one match per name on the
;   SAME node.
; - `#define X value` and `#define F(a) ...` are macros; valueless `#define X`
;   (include guards, feature flags) are not reported. Function-like macros use the
;   replacement text as @body, so the signature is `#define F(a)`.
; - Out-of-class definitions `R A::B::f() {}` / `Buf<T>::f`: @name = last component,
;   @parent = the innermost scope (`B`, `Buf`) - a class OR a namespace.
;   Class-like specifiers named `A::B` / `Tmpl<T*>` likewise get @parent / plain name.
; - Member prototypes (field_declaration) and inline member definitions are
;   `function` (methods via lexical nesting). Constructors/destructors declared
;   in a class are `declaration`s and also `function`. Conversion operators
;   (`operator bool()`) are not reported. `= default` / `= delete` definitions
;   have no @body.
; - Compile-time note: Query::new cost grows with (distinct parent node types x depth
;   of nested child patterns); a wildcard parent `(_ (x) @c)` used to exclude some parents
;   costs most of all, so use `#not-parent-kind?` for that, and leave declarator shapes to
;   @declarator.<how>.

(function_definition
  declarator: (_) @declarator.definition
  body: [(compound_statement) (try_statement)]? @body) @definition.function

; Prototypes outside function bodies: inside a `{ ... }` block `Foo x(y);` parses as a
; prototype. (Namespace, extern "C" and class bodies are other node kinds.)
((declaration
   declarator: (_) @declarator.declaration) @definition.function
 (#not-parent-kind? @definition.function compound_statement))

; Member function prototypes inside class bodies.
(field_declaration
  declarator: (_) @declarator.member) @definition.function

; Struct/union/enum/class definitions with a body, wherever they appear except directly
; under a typedef (handled below).
(
  [
    (class_specifier name: [(type_identifier) @name (template_type name: (type_identifier) @name) (_ scope: [(namespace_identifier) @parent (template_type name: (type_identifier) @parent)] name: (type_identifier) @name)] body: (field_declaration_list) @body) @definition.class
    (struct_specifier name: [(type_identifier) @name (template_type name: (type_identifier) @name) (_ scope: [(namespace_identifier) @parent (template_type name: (type_identifier) @parent)] name: (type_identifier) @name)] body: (field_declaration_list) @body) @definition.struct
    (union_specifier name: [(type_identifier) @name (template_type name: (type_identifier) @name) (_ scope: [(namespace_identifier) @parent (template_type name: (type_identifier) @parent)] name: (type_identifier) @name)] body: (field_declaration_list) @body) @definition.union
    (enum_specifier name: [(type_identifier) @name (template_type name: (type_identifier) @name) (_ scope: [(namespace_identifier) @parent (template_type name: (type_identifier) @parent)] name: (type_identifier) @name)] body: (enumerator_list) @body) @definition.enum
  ] @_spec
  (#not-parent-kind? @_spec type_definition))

; `typedef struct [Tag] { ... } Name;` -> one definition named Name ...
(type_definition
  type: (class_specifier body: (field_declaration_list) @body)
  declarator: (type_identifier) @name) @definition.class
(type_definition
  type: (struct_specifier body: (field_declaration_list) @body)
  declarator: (type_identifier) @name) @definition.struct
(type_definition
  type: (union_specifier body: (field_declaration_list) @body)
  declarator: (type_identifier) @name) @definition.union
(type_definition
  type: (enum_specifier body: (enumerator_list) @body)
  declarator: (type_identifier) @name) @definition.enum
; ... plus the tag name when it differs from the (first) typedef name.
(type_definition
  type: (class_specifier name: (type_identifier) @name body: (field_declaration_list) @body)
  .
  declarator: (type_identifier) @_alias
  (#not-eq? @name @_alias)) @definition.class
(type_definition
  type: (struct_specifier name: (type_identifier) @name body: (field_declaration_list) @body)
  .
  declarator: (type_identifier) @_alias
  (#not-eq? @name @_alias)) @definition.struct
(type_definition
  type: (union_specifier name: (type_identifier) @name body: (field_declaration_list) @body)
  .
  declarator: (type_identifier) @_alias
  (#not-eq? @name @_alias)) @definition.union
(type_definition
  type: (enum_specifier name: (type_identifier) @name body: (enumerator_list) @body)
  .
  declarator: (type_identifier) @_alias
  (#not-eq? @name @_alias)) @definition.enum

; Other typedefs: any type without a body (only specifiers have a `body` field).
(type_definition
  type: (_ !body)
  declarator: [
    (type_identifier) @name
    (_ declarator: (type_identifier) @name)                        ; *T, T[], T(...)
    (_ declarator: (_ declarator: (type_identifier) @name))        ; **T
    (_ declarator: (_ (_ declarator: (type_identifier) @name)))    ; (*T)(...)
  ]) @definition.type

; `using X = Y;` (also inside `template <...>`)
(alias_declaration
  name: (type_identifier) @name) @definition.type

(namespace_definition
  name: [(namespace_identifier) (nested_namespace_specifier)] @name
  body: (declaration_list) @body) @definition.namespace

; Constants outside function bodies: `[static] const T NAME = …;`, `const T NAME[] = …;`
; (also inside #if/#ifdef branches such as include guards). Not `const char *p = …;`
; (a pointer to const, not a constant). Not in a `{ ... }` block (function or class body)
; nor in a `for (...)` head or a `case`.
((declaration
   (type_qualifier) @_q
   declarator: (init_declarator
     declarator: [
       (identifier) @name
       (array_declarator declarator: (identifier) @name)
     ])) @definition.constant
 (#match? @_q "^(const|constexpr)$")
 (#not-parent-kind? @definition.constant compound_statement field_declaration_list for_statement for_range_loop case_statement))

; `static const` / `static constexpr` data members with a value.
(field_declaration
  (storage_class_specifier) @_s
  (type_qualifier) @_q
  declarator: (field_identifier) @name
  default_value: (_)
  (#eq? @_s "static")
  (#match? @_q "^(const|constexpr)$")) @definition.constant

(preproc_def
  name: (identifier) @name
  value: (preproc_arg)) @definition.macro

(preproc_function_def
  name: (identifier) @name
  value: (preproc_arg)? @body) @definition.macro

(preproc_include) @import
