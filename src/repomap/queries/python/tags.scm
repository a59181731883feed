; vibe repo-map tags: Python
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
; Notes: functions nested in classes are reported as `function`; the Rust side
; turns them into methods. Decorated definitions are matched on the inner
; function_definition / class_definition (decorators are not part of the node).

(function_definition
  name: (identifier) @name
  body: (block) @body) @definition.function

(class_definition
  name: (identifier) @name
  body: (block) @body) @definition.class

; Module-level constants: `MAX = 1`, `MAX: int = 1` (not `X: TypeAlias = ...`).
(module
  (expression_statement
    (assignment
      left: (identifier) @name
      type: (type)? @_type
      (#match? @name "^[A-Z][A-Z0-9_]*$")
      (#not-match? @_type "^(typing\\.|typing_extensions\\.)?TypeAlias$")) @definition.constant))

; Explicit type aliases: `Vector: TypeAlias = list[float]`
(module
  (expression_statement
    (assignment
      left: (identifier) @name
      type: (type) @_type
      (#match? @_type "^(typing\\.|typing_extensions\\.)?TypeAlias$")) @definition.type))

; PEP 695: `type Point = tuple[float, float]`, `type Pair[T] = ...`
(type_alias_statement
  left: (type
    [
      (identifier) @name
      (generic_type . (identifier) @name)
    ])) @definition.type

[
  (import_statement)
  (import_from_statement)
  (future_import_statement)
] @import

(module
  (if_statement
    condition: (comparison_operator) @_cond
    (#match? @_cond "^(__name__\\s*==\\s*['\"]__main__['\"]|['\"]__main__['\"]\\s*==\\s*__name__)$")) @entry)
