// Generated from jinja2 3.1.6 as transformers 5.23.0 configures it (ImmutableSandboxedEnvironment,
// trim_blocks, lstrip_blocks, loopcontrols, its tojson and globals). Expected nil: jinja2 raises.
import Testing
import Templates

struct FilterTests {
    static let cases: [RenderCase] = [
        RenderCase("{{ xs|length }} {{ s|length }} {{ d|length }} {{ missing|length }} {{ 'héllo'|count }} {{ e|length }}", "", "3 11 2 0 5 0"),
        RenderCase("{{ xs|first }} {{ xs|last }} {{ 'abc'|first }} {{ 'abc'|last }} {{ empty|first }}|{{ (empty|first) is defined }}", "", "1 3 a c |False"),
        RenderCase("{{ d|first }}", "", "a"),
        RenderCase("{{ words|join }} {{ words|join(', ') }} {{ xs|join('-') }} {{ users|join(', ', attribute='name') }} {{ [1, none, 'a']|join('|') }}", "", "bAca b, A, c, a 1-2-3 bob, Alice, carol 1|None|a"),
        RenderCase("{{ s|upper }} {{ 'ABC Déf'|lower }} {{ 'hello wORLD-foo (bar) [baz] <q> x_y'|title }} {{ 'hELLO World'|capitalize }}", "", "HÉLLO WÖRLD abc déf Hello World-Foo (Bar) [Baz] <Q> X_y Hello world"),
        RenderCase("{{ \"they're bill's friends from the UK\"|title }}", "", "They're Bill's Friends From The Uk"),
        RenderCase("[{{ '  x y  '|trim }}] [{{ 'xxhixx'|trim('x') }}] [{{ '\\n\\t x \\n'|trim }}]", "", "[x y] [hi] [x]"),
        RenderCase("{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'abc'|replace('', '-') }}", "", "bbb bba -a-b-c-"),
        RenderCase("{{ missing|default('dflt') }} {{ none|default('dflt') }} {{ none|default('dflt', true) }} {{ ''|d('empty', boolean=true) }} {{ 0|d(5) }} {{ missing|d }}|", "", "dflt None dflt empty 0 |"),
        RenderCase("{{ 'abc'|list }} {{ d|list }} {{ (1, 2)|list }} {{ missing|list }}", "", "['a', 'b', 'c'] ['a', 'b'] [1, 2] []"),
        RenderCase("{{ 1|string }} {{ none|string }} {{ [1, 'a']|string }} {{ true|string ~ 'x' }} {{ 1.0|string }}", "", "1 None [1, 'a'] Truex 1.0"),
        RenderCase("{{ '42'|int }} {{ '3.9'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 4.7|int }} {{ -4.7|int }} {{ '0x1A'|int(0, 16) }} {{ ' 12 '|int }} {{ true|int }} {{ none|int }}", "", "42 3 0 7 4 -4 26 12 1 0"),
        RenderCase("{{ '1.5'|float }} {{ 'x'|float }} {{ 3|float }} {{ 'x'|float(1.5) }} {{ '1e3'|float }}", "", "1.5 0.0 3.0 1.5 1000.0"),
        RenderCase("{{ -3|abs }} {{ (-3)|abs }} {{ -2.5|abs }} {{ 4|abs }}", "", "3 3 2.5 4"),
        RenderCase("{% for k, v in d|items %}{{ k }}:{{ v }} {% endfor %}{{ missing|items|list }}", "", "a:1 b:[1, 2] []"),
        RenderCase("{{ users|map(attribute='name')|join(',') }} {{ words|map('upper')|list }} {{ ['a', 'b']|map('replace', 'a', 'z')|list }} {{ users|map(attribute='zip', default='?')|list }}", "", "bob,Alice,carol ['B', 'A', 'C', 'A'] ['z', 'b'] ['?', '?', '?']"),
        RenderCase("{{ xs|map('string')|join }} {{ [[1, 2], [3]]|map('length')|list }}", "", "123 [2, 1]"),
        RenderCase("{{ [0, 1, '', 'a', none, [], [0]]|select|list }} {{ [0, 1, '', 'a']|reject|list }}", "", "[1, 'a', [0]] [0, '']"),
        RenderCase("{{ xs|select('odd')|list }} {{ xs|reject('odd')|list }} {{ xs|select('gt', 1)|list }} {{ xs|select('in', [1, 3])|list }} {{ [1, 'a', none]|select('string')|list }} {{ xs|select('equalto', 2)|list }}", "", "[1, 3] [2] [2, 3] [1, 3] ['a'] [2]"),
        RenderCase("{{ users|selectattr('admin')|map(attribute='name')|list }} {{ users|rejectattr('admin')|map(attribute='name')|list }} {{ users|selectattr('age', 'gt', 28)|map(attribute='name')|list }} {{ users|selectattr('name', 'equalto', 'bob')|list|length }} {{ users|selectattr('zip', 'defined')|list }}", "", "['Alice'] ['bob', 'carol'] ['bob', 'carol'] 1 []"),
        RenderCase("{{ users|selectattr('name', 'in', ['bob', 'carol'])|map(attribute='age')|sum }}", "", "65"),
        RenderCase("{{ ['a', 'A', 'b', 'a']|unique|list }} {{ ['a', 'A', 'b']|unique(true)|list }} {{ [3, 1, 3, 2, 1]|unique|list }} {{ users|unique(attribute='admin')|map(attribute='name')|list }}", "", "['a', 'b'] ['a', 'A', 'b'] [3, 1, 2] ['bob', 'Alice']"),
        RenderCase("{{ words|sort }} {{ words|sort(reverse=true) }} {{ words|sort(case_sensitive=true) }} {{ [3, 1, 2]|sort }} {{ users|sort(attribute='age')|map(attribute='name')|list }} {{ users|sort(attribute='name')|map(attribute='name')|join(',') }}", "", "['A', 'a', 'b', 'c'] ['c', 'b', 'A', 'a'] ['A', 'a', 'b', 'c'] [1, 2, 3] ['Alice', 'bob', 'carol'] Alice,bob,carol"),
        RenderCase("{{ [2, 'a']|sort }}", "", nil),  // TypeError: '<' not supported between instances of 'str' and 'int'
        RenderCase("{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb\\n'|indent(2, blank=true) }}|{{ 'x\\ny'|indent('> ') }}|{{ ''|indent(2, true) }}", "", "a\n    b\n\n    c|  a\n  b|a\n  \n  b\n  |x\n> y|  "),
        RenderCase("{{ 'line\\r\\nnext'|indent(1) }}", "", "line\n next"),
        RenderCase("{{ d|tojson }}", "", "{\"a\": 1, \"b\": [1, 2]}"),
        RenderCase("{{ {'s': 'héllo \"q\" \\\\ </script> \\n\\t\\u0001', 'n': none, 'b': true, 'f': 1.5, 'i': -3, 'l': [1, [2, []], {}], 'e': 1e20, 'u': '😀'}|tojson }}", "", "{\"s\": \"héllo \\\"q\\\" \\\\ </script> \\n\\t\\u0001\", \"n\": null, \"b\": true, \"f\": 1.5, \"i\": -3, \"l\": [1, [2, []], {}], \"e\": 1e+20, \"u\": \"😀\"}"),
        RenderCase("{{ d|tojson(indent=2) }}|{{ [1, [2]]|tojson(indent=1) }}|{{ []|tojson(indent=2) }}|{{ {}|tojson(indent=2) }}", "", "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ]\n}|[\n 1,\n [\n  2\n ]\n]|[]|{}"),
        RenderCase("{{ {'b': 1, 'a': {'d': 2, 'c': 3}}|tojson(sort_keys=true) }} {{ d|tojson(separators=(',', ':')) }} {{ 'é'|tojson(ensure_ascii=true) }} {{ '😀'|tojson(ensure_ascii=true) }}", "", "{\"a\": {\"c\": 3, \"d\": 2}, \"b\": 1} {\"a\":1,\"b\":[1,2]} \"\\u00e9\" \"\\ud83d\\ude00\""),
        RenderCase("{{ d|tojson(indent=2, separators=(', ', ': ')) }}", "", "{\n  \"a\": 1, \n  \"b\": [\n    1, \n    2\n  ]\n}"),
        RenderCase("{{ (1, 'a')|tojson }} {{ 'plain'|tojson }} {{ 3|tojson }} {{ none|tojson }} {{ 0.1|tojson }}", "", "[1, \"a\"] \"plain\" 3 null 0.1"),
        RenderCase("{{ {1: 'int key', none: 'x', true: 'b'}|tojson }}", "", "{\"1\": \"b\", \"null\": \"x\"}"),
        RenderCase("{{ missing|tojson }}", "", nil),  // TypeError: Object of type Undefined is not JSON serializable
        RenderCase("{{ '<b>&\"\\''|escape }} {{ '<b>'|e }} {{ '<b>'|safe }} {{ 5|e }}", "", "&lt;b&gt;&amp;&#34;&#39; &lt;b&gt; <b> 5"),
        RenderCase("{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 3|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(0, 'floor') }} {{ -2.5|round }} {{ 1.23456|round(3) }}", "", "2.0 4.0 2.67 3 3.0 2.0 -2.0 1.235"),
        RenderCase("{{ xs|max }} {{ xs|min }} {{ words|max }} {{ words|min }} {{ words|max(case_sensitive=true) }} {{ (users|max(attribute='age')).name }} {{ empty|max }}|", "", "3 1 c A c carol |"),
        RenderCase("{{ xs|sum }} {{ [1.5, 2]|sum }} {{ users|sum(attribute='age') }} {{ xs|sum(start=10) }} {{ empty|sum }}", "", "6 3.5 90 16 0"),
        RenderCase("{{ range(7)|batch(3)|list }} {{ range(5)|batch(2, 'x')|list }}", "", "[[0, 1, 2], [3, 4, 5], [6]] [[0, 1], [2, 3], [4, 'x']]"),
        RenderCase("{{ 'one two  three\\nfour, five'|wordcount }} {{ ''|wordcount }}", "", "5 0"),
        RenderCase("[{{ 'ab'|center(7) }}] [{{ 'abc'|center(8) }}] [{{ 'abcdef'|center(3) }}]", "", "[   ab  ] [  abc   ] [abcdef]"),
        RenderCase("{{ xs|reverse|list }} {{ 'héllo'|reverse }} {{ (1, 2)|reverse|list }}", "", "[3, 2, 1] olléh [2, 1]"),
        RenderCase("{{ {'b': 1, 'A': 3, 'a': 2}|dictsort }} {{ {'b': 1, 'a': 2}|dictsort(by='value') }} {{ {'b': 1, 'a': 2}|dictsort(reverse=true) }}", "", "[('A', 3), ('a', 2), ('b', 1)] [('b', 1), ('a', 2)] [('b', 1), ('a', 2)]"),
        RenderCase("{{ '%s-%s'|format('a', 1) }} {{ '%(x)s!'|format(x='kw') }} {{ '%.3f'|format(3.14159) }}", "", "a-1 kw! 3.142"),
        RenderCase("{{ xs|length|string ~ '!' }} {{ s|upper|replace('L', '_')|lower }}", "", "3! hé__o wör_d"),
        RenderCase("{{ 'abc'|nosuchfilter }}", "", nil),  // TemplateAssertionError: No filter named 'nosuchfilter'.
        RenderCase("{{ users|attr('0') }}|{{ d|attr('a') }}", "", "|"),
        RenderCase("{{ 'hello world foo'|truncate(9) }} {{ 'hello world foo'|truncate(9, true) }} {{ 'short'|truncate(20) }}", "", "hello... hello ... short"),
        RenderCase("{{ 1.0 }} {{ 100.0 }} {{ 1.5e300 * 1e10 }} {{ -0.0 }} {{ 12345678.9 }} {{ 0.000123 }} {{ 123456789012345678.0 }}", "", "1.0 100.0 inf -0.0 12345678.9 0.000123 1.2345678901234568e+17"),
    ]

    @Test(arguments: cases)
    func matchesJinja2(_ c: RenderCase) throws { try c.check() }
}
