; vibe repo-map tags: Java
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
; - Definition nodes include their `modifiers`, so signatures start with any
;   annotations (`@Override public void run()`).
; - `static final` fields (either order) and interface constant_declarations are
;   constants; `static final int A = 1, B = 2;` yields one match per name on the
;   SAME node (dedupe by (node, name), not node).
; - Methods of anonymous classes (`new Runnable() { public void run() {} }`) are
;   reported; their nearest enclosing definition is the surrounding class/method.

[
  (class_declaration
    name: (identifier) @name
    body: (class_body) @body)
  (record_declaration
    name: (identifier) @name
    body: (class_body) @body)
] @definition.class

[
  (interface_declaration
    name: (identifier) @name
    body: (interface_body) @body)
  (annotation_type_declaration
    name: (identifier) @name
    body: (annotation_type_body) @body)
] @definition.interface

(enum_declaration
  name: (identifier) @name
  body: (enum_body) @body) @definition.enum

; An enum constant with a body of its own (`Data { void read(…) {…} },` in a state machine):
; the methods in it are its.
(enum_constant
  name: (identifier) @name
  body: (class_body) @body) @definition.constant

[
  (method_declaration
    name: (identifier) @name
    body: (block)? @body)
  (constructor_declaration
    name: (identifier) @name
    body: (constructor_body) @body)
  (compact_constructor_declaration
    name: (identifier) @name
    body: (block) @body)
  (annotation_type_element_declaration
    name: (identifier) @name)
] @definition.method

(field_declaration
  (modifiers
    [
      ("static" "final")
      ("final" "static")
    ])
  declarator: (variable_declarator
    name: (identifier) @name)) @definition.constant

(constant_declaration
  declarator: (variable_declarator
    name: (identifier) @name)) @definition.constant

(import_declaration) @import

(package_declaration) @package
