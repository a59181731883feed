; vibe repo-map tags: Go
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
; Captures whose name starts with `_` only feed predicates and must be ignored.
;
; Notes:
; - Types and constants are top-level only. An ungrouped `type X ...` / `const X = ...`
;   uses the whole type_declaration / const_declaration as the definition node (so
;   the signature starts with `type` / `const`); inside a group `type ( ... )` /
;   `const ( ... )` the definition node is the individual type_spec / const_spec
;   (signature starts at the name, e.g. `Grouped struct`).
; - `const C, D = 1, 2` yields one match per name on the SAME node (dedupe by
;   (node, name), not node).
; - Interfaces: @body is the first interface element, so the signature ends with
;   `{` (`type Shape interface {`); trim a trailing `{`. Empty `interface{}` has no body.
; - Methods: @parent is the receiver's base type name (pointer and type args stripped).

(function_declaration
  name: (identifier) @name
  body: (block)? @body) @definition.function

(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @parent
        (generic_type type: (type_identifier) @parent)
        (pointer_type
          [
            (type_identifier) @parent
            (generic_type type: (type_identifier) @parent)
          ])
      ]))
  name: (field_identifier) @name
  body: (block)? @body) @definition.method

; --- type X ... (ungrouped) ---
(source_file
  (type_declaration
    (type_spec
      name: (type_identifier) @name
      type: (struct_type (field_declaration_list) @body))) @definition.struct
  (#not-match? @definition.struct "^type\\s*\\("))

(source_file
  (type_declaration
    (type_spec
      name: (type_identifier) @name
      type: (interface_type . (_)? @body))) @definition.interface
  (#not-match? @definition.interface "^type\\s*\\("))

(source_file
  (type_declaration
    [
      (type_spec
        name: (type_identifier) @name
        type: [
          (type_identifier) (qualified_type) (generic_type) (pointer_type) (array_type)
          (slice_type) (map_type) (channel_type) (function_type) (negated_type)
          (parenthesized_type)
        ])
      (type_alias name: (type_identifier) @name)
    ]) @definition.type
  (#not-match? @definition.type "^type\\s*\\("))

; --- type ( X ...; Y ... ) (grouped) ---
(source_file
  (type_declaration
    "("
    [
      (type_spec
        name: (type_identifier) @name
        type: (struct_type (field_declaration_list) @body)) @definition.struct
      (type_spec
        name: (type_identifier) @name
        type: (interface_type . (_)? @body)) @definition.interface
      (type_spec
        name: (type_identifier) @name
        type: [
          (type_identifier) (qualified_type) (generic_type) (pointer_type) (array_type)
          (slice_type) (map_type) (channel_type) (function_type) (negated_type)
          (parenthesized_type)
        ]) @definition.type
      (type_alias name: (type_identifier) @name) @definition.type
    ]))

; --- constants ---
; NB: `name:` on const_spec only yields the first of `C, D = ...`; direct identifier
; children of const_spec are exactly the names (values sit in an expression_list).
(source_file
  (const_declaration
    (const_spec (identifier) @name)) @definition.constant
  (#not-match? @definition.constant "^const\\s*\\("))

(source_file
  (const_declaration
    "("
    (const_spec (identifier) @name) @definition.constant))

(import_spec) @import

(package_clause) @package
