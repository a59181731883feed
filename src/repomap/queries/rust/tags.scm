; vibe repo-map tags: Rust
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
; - function_item / function_signature_item are `function` everywhere (also inside
;   impl/trait bodies); the Rust side turns those nested in an impl/trait into methods.
; - impl_item: kind `impl`, @name = the implementing type's name (`Foo` for
;   `impl<T> Trait for Foo<T>`, `impl Foo`, `&'a Foo`, `a::b::Foo`); for exotic
;   self types (`[T]`, `(A, B)`, `dyn X`, `fn()`) @name is the whole type text.
; - const/static items are reported at module level and inside impl/trait/extern
;   bodies (not inside function bodies).
; - `mod foo;` is an @import; `mod foo { ... }` is a definition.module.

(function_item
  name: (identifier) @name
  body: (block) @body) @definition.function

(function_signature_item
  name: (identifier) @name) @definition.function

; Tuple and unit structs have no @body: the whole item is the signature.
(struct_item
  name: (type_identifier) @name
  body: (field_declaration_list)? @body) @definition.struct

(enum_item
  name: (type_identifier) @name
  body: (enum_variant_list) @body) @definition.enum

(union_item
  name: (type_identifier) @name
  body: (field_declaration_list) @body) @definition.union

(trait_item
  name: (type_identifier) @name
  body: (declaration_list) @body) @definition.trait

(type_item
  name: (type_identifier) @name) @definition.type

(source_file
  [
    (const_item name: (identifier) @name)
    (static_item name: (identifier) @name)
  ] @definition.constant)

(declaration_list
  [
    (const_item name: (identifier) @name)
    (static_item name: (identifier) @name)
  ] @definition.constant)

; Signature = `macro_rules! name {` (up to the first rule; none for an empty macro).
(macro_definition
  name: (identifier) @name
  .
  (macro_rule)? @body) @definition.macro

(mod_item
  name: (identifier) @name
  body: (declaration_list) @body) @definition.module

(impl_item
  type: [
    (type_identifier) @name
    (primitive_type) @name
    (scoped_type_identifier name: (type_identifier) @name)
    (generic_type
      type: [
        (type_identifier) @name
        (identifier) @name
        (scoped_type_identifier name: (type_identifier) @name)
        (scoped_identifier name: (identifier) @name)
      ])
    (reference_type
      type: [
        (type_identifier) @name
        (primitive_type) @name
        (scoped_type_identifier name: (type_identifier) @name)
        (generic_type type: (type_identifier) @name)
        (generic_type type: (scoped_type_identifier name: (type_identifier) @name))
      ])
    (reference_type
      type: [
        (array_type)
        (tuple_type)
        (dynamic_type)
        (function_type)
        (pointer_type)
        (reference_type)
        (unit_type)
      ]) @name
    (array_type) @name
    (tuple_type) @name
    (pointer_type) @name
    (function_type) @name
    (dynamic_type) @name
    (never_type) @name
    (unit_type) @name
    (bounded_type) @name
    (abstract_type) @name
  ]
  body: (declaration_list) @body) @definition.impl

[
  (use_declaration)
  (extern_crate_declaration)
  (mod_item !body)
] @import
