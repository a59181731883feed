(class_definition name: (identifier) @name body: (block) @body) @definition.class
(function_definition name: (identifier) @name body: (block) @body) @definition.function
(module (expression_statement (assignment left: (identifier) @name) @definition.constant)
  (#match? @name "^[A-Z][A-Z0-9_]*$"))
(import_statement) @import
(import_from_statement) @import
(module (if_statement condition: (comparison_operator (identifier) @_n (string) @_s)
  (#eq? @_n "__name__") (#match? @_s "__main__")) @entry)
