; vibe repo-map tags: TypeScript (typescript AND tsx grammars)
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
; - Self-contained: compiles against BOTH the typescript and the tsx grammars, so it
;   must not mention grammar-specific nodes (jsx_*, type_assertion).
; - Top-level `const/let/var` declarations: the @definition node is the whole
;   lexical_declaration / variable_declaration, so `const a = 1, b = 2;` yields two
;   matches on the SAME node with different @name (dedupe by (node, name), not node).
; - Function-valued declarators (arrow/function/generator expression) are
;   `function`, class-valued ones are `class`, everything else is `constant`;
;   the value alternatives are disjoint so each declarator yields one match.
;   (Values that are JSX / `<T>x` assertions are not reported as constants.)
; - A `var a = 1, f = () => {};` statement may thus carry different kinds on the
;   same node.
; - `const x = require("m")` / `[await] import("m")` are imports, not constants.
; - Overloads yield several definitions with the same name (function_signature(s) +
;   function_declaration; method_signature(s) + method_definition).

(function_declaration
  name: (identifier) @name
  body: (statement_block) @body) @definition.function

(generator_function_declaration
  name: (identifier) @name
  body: (statement_block) @body) @definition.function

[
  (class_declaration
    name: (_) @name
    body: (class_body) @body)
  (abstract_class_declaration
    name: (_) @name
    body: (class_body) @body)
] @definition.class

(method_definition
  name: (_) @name
  body: (statement_block) @body) @definition.method

; Class fields holding functions: `handle = () => {}` (function inside a class).
(public_field_definition
  name: (_) @name
  value: [
    (arrow_function body: (_) @body)
    (function_expression body: (_) @body)
  ]) @definition.function

; Top-level declarations: `const f = (a) => ...`, `var g = function () {}`.
(program
  (_
    (variable_declarator
      name: (identifier) @name
      value: [
        (arrow_function body: (_) @body)
        (function_expression body: (_) @body)
        (generator_function body: (_) @body)
      ])) @definition.function)

(export_statement
  declaration: (_
    (variable_declarator
      name: (identifier) @name
      value: [
        (arrow_function body: (_) @body)
        (function_expression body: (_) @body)
        (generator_function body: (_) @body)
      ])) @definition.function)

; `const Foo = class { ... }`
(program
  (_
    (variable_declarator
      name: (identifier) @name
      value: (class body: (class_body) @body))) @definition.class)

(export_statement
  declaration: (_
    (variable_declarator
      name: (identifier) @name
      value: (class body: (class_body) @body))) @definition.class)

; Top-level constants/variables (any value except function/class, or no value).
(program
  (_
    (variable_declarator
      name: (identifier) @name
      value: [
        (array) (as_expression) (assignment_expression)
        (augmented_assignment_expression) (await_expression)
        (binary_expression) (call_expression) (false) (identifier)
        (instantiation_expression) (member_expression) (meta_property)
        (new_expression) (non_null_expression) (null) (number) (object)
        (parenthesized_expression) (regex) (satisfies_expression)
        (string) (subscript_expression) (super) (template_string)
        (ternary_expression) (this) (true) (unary_expression)
        (undefined) (update_expression) (yield_expression)
      ] @_value
      (#not-match? @_value "^(require\\s*\\(|(await\\s+)?import\\s*\\()"))) @definition.constant)

(export_statement
  declaration: (_
    (variable_declarator
      name: (identifier) @name
      value: [
        (array) (as_expression) (assignment_expression)
        (augmented_assignment_expression) (await_expression)
        (binary_expression) (call_expression) (false) (identifier)
        (instantiation_expression) (member_expression) (meta_property)
        (new_expression) (non_null_expression) (null) (number) (object)
        (parenthesized_expression) (regex) (satisfies_expression)
        (string) (subscript_expression) (super) (template_string)
        (ternary_expression) (this) (true) (unary_expression)
        (undefined) (update_expression) (yield_expression)
      ] @_value
      (#not-match? @_value "^(require\\s*\\(|(await\\s+)?import\\s*\\()"))) @definition.constant)

(program
  (_
    (variable_declarator
      name: (identifier) @name
      !value)) @definition.constant)

(export_statement
  declaration: (_
    (variable_declarator
      name: (identifier) @name
      !value)) @definition.constant)

; CommonJS-style top-level assignments: `module.exports.f = function () {}`,
; `Foo.prototype.bar = () => {}`.
(program
  (expression_statement
    (assignment_expression
      left: (member_expression property: (property_identifier) @name)
      right: [
        (arrow_function body: (_) @body)
        (function_expression body: (_) @body)
      ]) @definition.function))

; --- TypeScript-only constructs ---

; Overload signatures and `declare function f(): T;`
(function_signature
  name: (identifier) @name) @definition.function

; Interface members and class overload signatures
[
  (method_signature name: (_) @name)
  (abstract_method_signature name: (_) @name)
] @definition.method

(interface_declaration
  name: (type_identifier) @name
  body: (interface_body) @body) @definition.interface

(type_alias_declaration
  name: (type_identifier) @name) @definition.type

(enum_declaration
  name: (identifier) @name
  body: (enum_body) @body) @definition.enum

; `namespace A.B { }`
(internal_module
  name: (_) @name
  body: (statement_block) @body) @definition.namespace

; `declare module "x" { }`, `module A.B { }`
(module
  name: [
    (string (string_fragment) @name)
    (identifier) @name
    (nested_identifier) @name
  ]
  body: (statement_block) @body) @definition.module

; `declare const X: T;` at top level, exported or not (`export declare const X: T;`, as
; .d.ts files write them)
(program
  (ambient_declaration
    (_
      (variable_declarator
        name: (identifier) @name)) @definition.constant))
(program
  (export_statement
    (ambient_declaration
      (_
        (variable_declarator
          name: (identifier) @name)) @definition.constant)))

; Also covers `import x = require("m")` (import_require_clause).
(import_statement) @import

; Re-exports: `export { a } from "m"`, `export * from "m"`.
(export_statement
  source: (_)) @import

; `require("m")`
(call_expression
  function: (identifier) @_fn
  arguments: (arguments . (string) .)
  (#eq? @_fn "require")) @import

; Dynamic `import("m")`
(call_expression
  function: (import)
  arguments: (arguments . (string))) @import
