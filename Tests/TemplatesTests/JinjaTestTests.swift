// Generated from jinja2 3.1.6 as transformers 5.23.0 configures it (ImmutableSandboxedEnvironment,
// trim_blocks, lstrip_blocks, loopcontrols, its tojson and globals). Expected nil: jinja2 raises.
import Testing
import Templates

struct JinjaTestTests {
    static let cases: [RenderCase] = [
        RenderCase("{{ xs is defined }} {{ missing is defined }} {{ missing is undefined }} {{ n is defined }} {{ n is none }} {{ 0 is none }}", "", "True False True True True False"),
        RenderCase("{{ 'a' is string }} {{ 1 is string }} {{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ '1' is number }} {{ n is number }}", "", "True False True True True False False"),
        RenderCase("{{ 1 is integer }} {{ 1.0 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ 1 is float }}", "", "True False False True False"),
        RenderCase("{{ true is boolean }} {{ 1 is boolean }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ n is false }}", "", "True False True False True False False"),
        RenderCase("{{ d is mapping }} {{ xs is mapping }} {{ users[0] is mapping }} {{ n is mapping }}", "", "True False True False"),
        RenderCase("{{ xs is iterable }} {{ 'a' is iterable }} {{ d is iterable }} {{ 1 is iterable }} {{ missing is iterable }} {{ n is iterable }} {{ (1,) is iterable }}", "", "True True True False True False True"),
        RenderCase("{{ xs is sequence }} {{ 'a' is sequence }} {{ d is sequence }} {{ 1 is sequence }} {{ n is sequence }}", "", "True True True False False"),
        RenderCase("{{ 3 is odd }} {{ 3 is even }} {{ 0 is even }} {{ -3 is odd }}", "", "True False True True"),
        RenderCase("{{ missing is odd }}", "", nil),  // UndefinedError: 'missing' is undefined
        RenderCase("{{ 2 is in xs }} {{ 'a' is in 'cat' }} {{ 'z' is in d }} {{ 4 is not in xs }}", "", "True True False True"),
        RenderCase("{{ 1 is eq 1 }} {{ 1 is ne 1 }} {{ 2 is gt 1 }} {{ 2 is ge 2 }} {{ 1 is lt 2 }} {{ 2 is le 1 }} {{ 'a' is equalto 'a' }} {{ 2 is greaterthan 3 }} {{ 2 is lessthan 3 }}", "", "True False True True True False True False True"),
        RenderCase("{{ 10 is divisibleby 5 }} {{ 10 is divisibleby(3) }} {{ 9 is not divisibleby 2 }}", "", "True False True"),
        RenderCase("{{ range is callable }} {{ raise_exception is callable }} {{ 'x' is callable }} {{ 'x'.upper is callable }} {{ namespace is callable }}", "", "True True False True True"),
        RenderCase("{{ n is sameas none }} {{ true is sameas true }} {{ 1 is sameas true }}", "", "True True False"),
        RenderCase("{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aB' is lower }}", "", "True True False"),
        RenderCase("{{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }}", "", "True False True"),
        RenderCase("{{ xs is nosuchtest }}", "", nil),  // TemplateAssertionError: No test named 'nosuchtest'.
        RenderCase("{% if messages is not defined or messages is none %}none{% endif %}", "", "none"),
        RenderCase("{{ 'a' is string and 'a' is not number }}", "", "True"),
        RenderCase("{{ (xs|first) is number if xs else 'empty' }}", "", nil),  // TemplateSyntaxError: expected token 'end of print statement', got 'xs'
        RenderCase("{{ ((xs|first) is number) if xs else 'empty' }} {{ 'y' if 1 is number else 'n' }}", "", "True y"),
        RenderCase("{{ 1 is == 1 }}", "", nil),  // TemplateSyntaxError: expected token 'name', got '=='
        RenderCase("{{ x is defined and x }}", "", "False"),
        RenderCase("{{ 1 is number is true }}", "", nil),  // TemplateSyntaxError: You cannot chain multiple tests with is
    ]

    @Test(arguments: cases)
    func matchesJinja2(_ c: RenderCase) throws { try c.check() }
}
