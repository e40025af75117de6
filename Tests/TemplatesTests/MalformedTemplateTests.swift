// Generated from jinja2 3.1.6 as transformers 5.23.0 configures it (ImmutableSandboxedEnvironment,
// trim_blocks, lstrip_blocks, loopcontrols, its tojson and globals). Expected nil: jinja2 raises.
import Testing
import Templates

struct MalformedTemplateTests {
    static let cases: [RenderCase] = [
        RenderCase("{% for x in xs %}", "", nil),  // TemplateSyntaxError: Unexpected end of template. Jinja was looking for the following tags: 'endfor' or 'else'. The innermost block that needs to be closed is 'for'.
        RenderCase("{% endfor %}", "", nil),  // TemplateSyntaxError: Encountered unknown tag 'endfor'.
        RenderCase("{% if %}{% endif %}", "", nil),  // TemplateSyntaxError: Expected an expression, got 'end of statement block'
        RenderCase("{{ }}", "", nil),  // TemplateSyntaxError: Expected an expression, got 'end of print statement'
        RenderCase("{{ 1 + }}", "", nil),  // TemplateSyntaxError: unexpected 'end of print statement'
        RenderCase("{% if t %}{% endfor %}", "", nil),  // TemplateSyntaxError: Encountered unknown tag 'endfor'. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.
        RenderCase("{{ 'unterminated }}", "", nil),  // TemplateSyntaxError: unexpected char "'" at 3
        RenderCase("{# unclosed comment", "", nil),  // TemplateSyntaxError: Missing end of comment tag
        RenderCase("{% raw %}never ends", "", nil),  // TemplateSyntaxError: Missing end of raw directive
        RenderCase("{{ xs", "", nil),  // TemplateSyntaxError: unexpected end of template, expected 'end of print statement'.
        RenderCase("{% if t", "", nil),  // TemplateSyntaxError: unexpected end of template, expected 'end of statement block'.
        RenderCase("{{ (1, 2 }}", "", nil),  // TemplateSyntaxError: unexpected '}', expected ')'
        RenderCase("{{ [1, 2 }}", "", nil),  // TemplateSyntaxError: unexpected '}', expected ']'
        RenderCase("{{ {'a' 1} }}", "", nil),  // TemplateSyntaxError: expected token ':', got 'integer'
        RenderCase("{{ xs | }}", "", nil),  // TemplateSyntaxError: expected token 'name', got 'end of print statement'
        RenderCase("{{ xs is }}", "", nil),  // TemplateSyntaxError: expected token 'name', got 'end of print statement'
        RenderCase("{% set %}", "", nil),  // TemplateSyntaxError: Expected an expression, got 'end of statement block'
        RenderCase("{% set x %}no end", "", nil),  // TemplateSyntaxError: Unexpected end of template. Jinja was looking for the following tags: 'endset'. The innermost block that needs to be closed is 'set'.
        RenderCase("{% macro %}{% endmacro %}", "", nil),  // TemplateSyntaxError: expected token 'name', got 'end of statement block'
        RenderCase("{% macro m( %}{% endmacro %}", "", nil),  // TemplateSyntaxError: expected token 'name', got '%'
        RenderCase("{% call %}{% endcall %}", "", nil),  // TemplateSyntaxError: unexpected 'end of statement block'
        RenderCase("{% for in xs %}{% endfor %}", "", nil),  // TemplateSyntaxError: expected token 'in', got 'xs'
        RenderCase("{% for x xs %}{% endfor %}", "", nil),  // TemplateSyntaxError: expected token 'in', got 'xs'
        RenderCase("{% else %}", "", nil),  // TemplateSyntaxError: Encountered unknown tag 'else'.
        RenderCase("{% elif t %}", "", nil),  // TemplateSyntaxError: Encountered unknown tag 'elif'.
        RenderCase("{% unknown_tag %}", "", nil),  // TemplateSyntaxError: Encountered unknown tag 'unknown_tag'.
        RenderCase("{{ 'a' ~ }}", "", nil),  // TemplateSyntaxError: unexpected 'end of print statement'
        RenderCase("{% if t %}{% else %}{% else %}{% endif %}", "", nil),  // TemplateSyntaxError: Encountered unknown tag 'else'. Jinja was looking for the following tags: 'endif'. The innermost block that needs to be closed is 'if'.
        RenderCase("{{ xs[] }}", "", ""),
        RenderCase("{{ xs. }}", "", nil),  // TemplateSyntaxError: expected name or number
        RenderCase("{%- -%}", "", nil),  // TemplateSyntaxError: tag name expected
        RenderCase("{{ 'a' | default( }}", "", nil),  // TemplateSyntaxError: unexpected '}', expected ')'
        RenderCase("{{ x = 1 }}", "", nil),  // TemplateSyntaxError: expected token 'end of print statement', got '='
        RenderCase("{% set x = %}", "", nil),  // TemplateSyntaxError: Expected an expression, got 'end of statement block'
        RenderCase("{% for x in %}{% endfor %}", "", nil),  // TemplateSyntaxError: Expected an expression, got 'end of statement block'
        RenderCase("{{ ) }}", "", nil),  // TemplateSyntaxError: unexpected ')'
        RenderCase("{{ ] }}", "", nil),  // TemplateSyntaxError: unexpected ']'
        RenderCase("{% endraw %}", "", nil),  // TemplateSyntaxError: Encountered unknown tag 'endraw'.
        RenderCase("{{ \u{1} }}", "", nil),  // TemplateSyntaxError: unexpected char '\x01' at 3
        RenderCase("{{ 1 if }}", "", nil),  // TemplateSyntaxError: unexpected 'end of print statement'
        RenderCase("{{ 1 if t else }}", "", nil),  // TemplateSyntaxError: unexpected 'end of print statement'
        RenderCase("{{ not }}", "", nil),  // TemplateSyntaxError: unexpected 'end of print statement'
        RenderCase("{{ -}}", "", nil),  // TemplateSyntaxError: Expected an expression, got 'end of print statement'
        RenderCase("{{ xs|join(d='', 2) }}", "", nil),  // TemplateSyntaxError: invalid syntax for function call expression
        RenderCase("{% filter %}{% endfilter %}", "", nil),  // TemplateSyntaxError: expected token 'name', got 'end of statement block'
        RenderCase("{% if t %}{% if t %}{% endif %}", "", nil),  // TemplateSyntaxError: Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.
        RenderCase("{{ 1 }}}}", "", "1}}"),
        RenderCase("{% for x in xs %}{% endif %}{% endfor %}", "", nil),  // TemplateSyntaxError: Encountered unknown tag 'endif'. Jinja was looking for the following tags: 'endfor' or 'else'. The innermost block that needs to be closed is 'for'.
        RenderCase("{{ true = 1 }}", "", nil),  // TemplateSyntaxError: expected token 'end of print statement', got '='
        RenderCase("{% set true = 1 %}", "", nil),  // TemplateSyntaxError: can't assign to 'const'
        RenderCase("{{ 'a' 1 }}", "", nil),  // TemplateSyntaxError: expected token 'end of print statement', got 'integer'
        RenderCase("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "", nil),  // RecursionError: maximum recursion depth exceeded
        RenderCase("{% if false %}{{ x|nosuchfilter }}{% endif %}", "", ""),
        RenderCase("{% if false %}{{ x is nosuchtest }}{% endif %}", "", ""),
        RenderCase("{{ xs|groupby('a') }}", "", nil),  // UndefinedError: 'int object' has no attribute 'a'
        RenderCase("{% extends 'base' %}", "", nil),  // TypeError: no loader for this environment specified
        RenderCase("{% include 'x' %}", "", nil),  // TypeError: no loader for this environment specified
        RenderCase("{% block b %}{% endblock %}", "", ""),
        RenderCase("{% do xs.append(1) %}", "", nil),  // TemplateSyntaxError: Encountered unknown tag 'do'.
        RenderCase("{{ x:y }}", "", nil),  // TemplateSyntaxError: expected token 'end of print statement', got ':'
        RenderCase("{{ 1.2.3 }}", "", ""),
        RenderCase("{{ @ }}", "", nil),  // TemplateSyntaxError: unexpected char '@' at 3
        RenderCase("{{ `x` }}", "", nil),  // TemplateSyntaxError: unexpected char '`' at 3
        RenderCase("{% break %}", "", nil),  // SyntaxError: 'break' outside loop (<template>, line 11)
        RenderCase("{{ {'a': 1}}}", "", "{'a': 1}"),
        RenderCase("{{ '\\xZZ' }}", "", nil),  // TemplateSyntaxError: truncated \xXX escape
        RenderCase("{{ '\\u12' }}", "", nil),  // TemplateSyntaxError: truncated \uXXXX escape
        RenderCase("{% for a, in xs %}{{ a }}{% endfor %}", "", nil),  // TemplateSyntaxError: expected token 'in', got 'xs'
        RenderCase("{{ a,, }}", "", nil),  // TemplateSyntaxError: unexpected ','
        RenderCase("{{ f(**) }}", "", nil),  // TemplateSyntaxError: unexpected ')'
        RenderCase("{% generation %}open", "", nil),  // TemplateSyntaxError: Unexpected end of template. Jinja was looking for the following tags: 'endgeneration'. The innermost block that needs to be closed is 'generation'.
        RenderCase("{% with a %}{% endwith %}", "", nil),  // TemplateSyntaxError: expected token '=', got 'end of statement block'
        RenderCase("{{ xs[1:2:3:4] }}", "", nil),  // TemplateSyntaxError: expected token ',', got ':'
        RenderCase("{{ xs[::0] }}", "", nil),  // ValueError: slice step cannot be zero
        RenderCase("{{ range(1, 2, 0) }}", "", nil),  // ValueError: range() arg 3 must not be zero
        RenderCase("{{ 'a' * 99999999999 }}", "", nil),  // MemoryError: 
        RenderCase("{{ [1] * 99999999999 }}", "", nil),  // MemoryError: 
    ]

    @Test(arguments: cases)
    func matchesJinja2(_ c: RenderCase) throws { try c.check() }
}
