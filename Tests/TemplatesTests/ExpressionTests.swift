// Generated from jinja2 3.1.6 as transformers 5.23.0 configures it (ImmutableSandboxedEnvironment,
// trim_blocks, lstrip_blocks, loopcontrols, its tojson and globals). Expected nil: jinja2 raises.
import Testing
import Templates

struct ExpressionTests {
    static let cases: [RenderCase] = [
        RenderCase("{{ 'a' }}{{ \"b\" }}{{ 'it\\'s' }}{{ \"q\\\"q\" }}", "", "abit'sq\"q"),
        RenderCase("{{ 'tab\\there\\nnl' }}|{{ '\\x41\\u00e9\\U0001F600' }}|{{ 'back\\\\slash' }}|{{ '\\q' }}", "", "tab\there\nnl|Aé😀|back\\slash|\\q"),
        RenderCase("{{ 'a' 'b' }}", "", "ab"),
        RenderCase("{{ 42 }} {{ -7 }} {{ 1_000 }} {{ 0x1F }} {{ 0o17 }} {{ 0b101 }}", "", "42 -7 1000 31 15 5"),
        RenderCase("{{ 1.5 }} {{ 1.0 }} {{ 1e3 }} {{ 2.5e-3 }} {{ 1e16 }} {{ 1e15 }} {{ 0.1 + 0.2 }} {{ 1e-5 }} {{ 1/3 }}", "", "1.5 1.0 1000.0 0.0025 1e+16 1000000000000000.0 0.30000000000000004 1e-05 0.3333333333333333"),
        RenderCase("{{ true }} {{ false }} {{ True }} {{ False }} {{ none }} {{ None }}", "", "True False True False None None"),
        RenderCase("{{ [1, 'a', none, true, 1.5] }}", "", "[1, 'a', None, True, 1.5]"),
        RenderCase("{{ {'a': 1, 'b': 'x', 'c': [1, 2], 'd': {'e': none}} }}", "", "{'a': 1, 'b': 'x', 'c': [1, 2], 'd': {'e': None}}"),
        RenderCase("{{ (1, 2) }} {{ (1,) }} {{ () }}", "", "(1, 2) (1,) ()"),
        RenderCase("{{ ['it\\'s', \"say \\\"hi\\\"\", 'both \\' \"', 'nl\\n'] }}", "", "[\"it's\", 'say \"hi\"', 'both \\' \"', 'nl\\n']"),
        RenderCase("{{ [] }}{{ {} }}{{ [1,] }}", "", "[]{}[1]"),
        RenderCase("{{ 1, 2 }}", "", "(1, 2)"),
        RenderCase("{{ d.a }} {{ d['a'] }} {{ d.b[1] }} {{ d.b.0 }} {{ xs[-1] }} {{ xs[5] }}|{{ d.zz }}|", "", "1 1 2 1 3 ||"),
        RenderCase("{{ users[1].name }} {{ users[0]['age'] }}", "", "Alice 30"),
        RenderCase("{{ s[0] }}{{ s[-1] }}{{ s[1:3] }}", "", "hdél"),
        RenderCase("{{ xs[::-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[::2] }} {{ xs[-2:] }} {{ xs[5:] }} {{ xs[:100] }} {{ xs[2:0:-1] }}", "", "[3, 2, 1] [2, 3] [1, 2] [1, 3] [2, 3] [] [1, 2, 3] [3, 2]"),
        RenderCase("{{ 'abcdef'[::-2] }} {{ 'abc'[10:] }}|{{ 'héllo'[1:4] }}", "", "fdb |éll"),
        RenderCase("{{ d['items'] is defined }} {{ d.keys is callable }}", "", "True True"),
        RenderCase("{{ missing }}|{{ missing is defined }}|{{ d.missing is defined }}|{{ d.missing is undefined }}", "", "|False|False|True"),
        RenderCase("{{ missing.attr }}", "", nil),  // UndefinedError: 'missing' is undefined
        RenderCase("{{ missing['x'] }}", "", nil),  // UndefinedError: 'missing' is undefined
        RenderCase("{{ d.missing.deeper }}", "", nil),  // UndefinedError: 'dict object' has no attribute 'missing'
        RenderCase("{{ n.attr }}|{{ n.attr is defined }}", "", "|False"),
        RenderCase("{{ 'abc'.missing }}|", "", "|"),
        RenderCase("{{ 1 + 2 }} {{ 7 - 10 }} {{ 3 * 4 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }}", "", "3 -3 12 3.5 2.0 3 -4 1 2 -2 1024 0.5"),
        RenderCase("{{ 1 + 1.5 }} {{ 2.5 * 2 }} {{ 7.5 // 2 }} {{ 7.5 % 2 }} {{ true + 1 }} {{ 2 ** 0.5 }}", "", "2.5 5.0 3.0 1.5 2 1.4142135623730951"),
        RenderCase("{{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] + [2, 3] }} {{ [0] * 3 }} {{ 'x' * 0 }}|", "", "abcd ababab xxx [1, 2, 3] [0, 0, 0] |"),
        RenderCase("{{ 1 ~ 2 ~ 'a' ~ none ~ true }}|{{ 'a' ~ missing ~ 'b' }}", "", "12aNoneTrue|ab"),
        RenderCase("{{ 'a' + 1 }}", "", nil),  // TypeError: can only concatenate str (not "int") to str
        RenderCase("{{ 1 + missing }}", "", nil),  // UndefinedError: 'missing' is undefined
        RenderCase("{{ 1 / 0 }}", "", nil),  // ZeroDivisionError: division by zero
        RenderCase("{{ 1 // 0 }}", "", nil),  // ZeroDivisionError: integer division or modulo by zero
        RenderCase("{{ -xs[0] }} {{ -(1 + 2) }} {{ +3 }} {{ - 2 ** 2 }}", "", "-1 -3 3 4"),
        RenderCase("{{ 2 + 3 * 4 }} {{ (2 + 3) * 4 }} {{ 2 * 3 ~ 4 }} {{ 10 - 2 - 3 }} {{ 2 ** 3 ** 2 }}", "", "14 20 64 5 64"),
        RenderCase("{{ 1 + 2 ~ 3 }}", "", nil),  // TypeError: unsupported operand type(s) for +: 'int' and 'str'
        RenderCase("{{ (1, 'a') * 2 }} {{ 2 * (1,) }} {{ (1, 2) + (3,) }} {{ [1] * -1 }}", "", "(1, 'a', 1, 'a') (1, 1) (1, 2, 3) []"),
        RenderCase("{{ 9223372036854775807 - 1 }}", "", "9223372036854775806"),
        RenderCase("{{ '%s and %s' % ('a', 'b') }} {{ '%d%%' % 50 }} {{ '%5.2f|%-4s|%04d' % (3.14159, 'ab', 42) }}", "", "a and b 50%  3.14|ab  |0042"),
        RenderCase("{{ 1 == 1.0 }} {{ 1 != 2 }} {{ 1 < 2 }} {{ 2 <= 2 }} {{ 3 > 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }}", "", "True True True True True True True True False"),
        RenderCase("{{ 'a' == 'a' }} {{ none == none }} {{ true == 1 }} {{ [1, 2] == [1, 2] }} {{ d == {'a': 1, 'b': [1, 2]} }} {{ missing == none }} {{ 'a' == 1 }}", "", "True True True True True False False"),
        RenderCase("{{ 'a' < 1 }}", "", nil),  // TypeError: '<' not supported between instances of 'str' and 'int'
        RenderCase("{{ 2 in xs }} {{ 5 not in xs }} {{ 'ell' in 'hello' }} {{ 'a' in d }} {{ 'z' in d }} {{ 'x' in missing }} {{ '' in 'abc' }}", "", "True True True True False False True"),
        RenderCase("{{ 1 in 'abc' }}", "", nil),  // TypeError: 'in <string>' requires string as left operand, not int
        RenderCase("{{ 1 and 2 }} {{ 0 and 2 }} {{ 0 or 'x' }} {{ '' or [] }} {{ none or 0 }} {{ not 0 }} {{ not [1] }} {{ 'a' and none }}", "", "2 0 x [] 0 True False None"),
        RenderCase("{{ missing or 'fallback' }} {{ missing and 1 }}|", "", "fallback |"),
        RenderCase("{{ not true and false }} {{ not (true and false) }} {{ true or false and false }}", "", "False True True"),
        RenderCase("{{ [] or {} or '' or 'last' }}", "", "last"),
        RenderCase("{{ not missing is defined }} {{ not 1 == 2 }}", "", "True True"),
        RenderCase("{{ 'y' if t else 'n' }} {{ 'y' if f else 'n' }} {{ 'y' if f }}|{{ ('y' if f) is defined }}", "", "y n |False"),
        RenderCase("{{ 'a' if f else 'b' if t else 'c' }}", "", "b"),
        RenderCase("{{ (1 if f).x }}", "", nil),  // UndefinedError: the inline if-expression on line 1 evaluated to false and no else section was defined.
        RenderCase("{{ 1 + 2 is odd }} {{ xs|length is even }} {{ xs | first is number }}", "", "1 False True"),
        RenderCase("{{ none is none }} {{ 1 is not none }} {{ 'a' is string and 1 is number }}", "", "True True True"),
        RenderCase("{{ 6 is divisibleby 3 }} {{ 7 is divisibleby(2) }} {{ 2 is in xs }} {{ 3 is eq 3 }} {{ 3 is gt 2 }}", "", "True False True True True"),
        RenderCase("{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(10, 0, -3)|list }} {{ range(0)|list }} {{ range(3)|length }} {% for i in range(2) %}{{ i }}{% endfor %}", "", "[0, 1, 2] [1, 2, 3] [10, 7, 4, 1] [] 3 01"),
        RenderCase("{{ dict(a=1, b='x') }} {{ dict() }} {{ dict({'k': 1}, z=2) }}", "", "{'a': 1, 'b': 'x'} {} {'k': 1, 'z': 2}"),
        RenderCase("{% set ns = namespace(a=1, b=[]) %}{{ ns.a }}{{ ns.b }}{% set ns.a = ns.a + 1 %}{{ ns.a }}{{ ns.missing is defined }}", "", "1[]2False"),
        RenderCase("{{ raise_exception('boom') }}", "", nil),  // TemplateError: boom
        RenderCase("{{ 'x'() }}", "", nil),  // TypeError: 'str' object is not callable
        RenderCase("{{ missing() }}", "", nil),  // UndefinedError: 'missing' is undefined
        RenderCase("{{ range(1000000) | length }}", "", nil),  // OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).
        RenderCase("{% set f = 'abc'.upper %}{{ f() }}", "", "ABC"),
        RenderCase("{{ xs.append(4) }}", "", nil),  // SecurityError: access to attribute 'append' of 'list' object is unsafe.
        RenderCase("{{ xs.append is defined }}{{ d.update is defined }}{{ xs.index is defined }}", "", "FalseFalseTrue"),
        RenderCase("{{ d.update({'c': 3}) }}", "", nil),  // SecurityError: access to attribute 'update' of 'dict' object is unsafe.
        RenderCase("{{ xs.pop() }}", "", nil),  // SecurityError: access to attribute 'pop' of 'list' object is unsafe.
        RenderCase("{{ [1,2,1].count(1) }} {{ [1,2,3].index(2) }} {{ (1,2).index(2) }}", "", "2 1 1"),
    ]

    @Test(arguments: cases)
    func matchesJinja2(_ c: RenderCase) throws { try c.check() }
}
