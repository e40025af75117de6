// Generated from jinja2 3.1.6 as transformers 5.23.0 configures it (ImmutableSandboxedEnvironment,
// trim_blocks, lstrip_blocks, loopcontrols, its tojson and globals). Expected nil: jinja2 raises.
import Testing
import Templates

struct MethodTests {
    static let cases: [RenderCase] = [
        RenderCase("[{{ '  a b  '.strip() }}] [{{ '  a b  '.lstrip() }}] [{{ '  a b  '.rstrip() }}] [{{ 'xxaxx'.strip('x') }}] [{{ '\\n\\nhi\\n'.strip('\\n') }}] [{{ 'abcba'.lstrip('ab') }}] [{{ 'abcba'.rstrip('ab') }}]", "", "[a b] [a b  ] [  a b] [a] [hi] [cba] [abc]"),
        RenderCase("{{ 'a,b,,c'.split(',') }} {{ '  a  b c '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ ''.split(',') }} {{ ''.split() }} {{ 'a<sep>b'.split('<sep>') }} {{ ' a b '.split(none, 1) }}", "", "['a', 'b', '', 'c'] ['a', 'b', 'c'] ['a', 'b c'] ['a,b', 'c'] [''] [] ['a', 'b'] ['a', 'b ']"),
        RenderCase("{{ 'abc'.split('') }}", "", nil),  // ValueError: empty separator
        RenderCase("{{ 'hello'.startswith('he') }} {{ 'hello'.startswith(('x', 'h')) }} {{ 'hello'.endswith('lo') }} {{ 'hello'.endswith(('x', 'y')) }} {{ 'hello'.startswith('') }} {{ 'hello'.startswith('l', 2) }}", "", "True True True False True True"),
        RenderCase("{{ 'hello'.startswith(1) }}", "", nil),  // TypeError: startswith first arg must be str or a tuple of str, not int
        RenderCase("{{ 'aXbXc'.replace('X', '-') }} {{ 'aXbXc'.replace('X', '-', 1) }} {{ 'Hi There'.upper() }} {{ 'Hi There'.lower() }} {{ 'hi there-you'.title() }} {{ 'hELLO'.capitalize() }}", "", "a-b-c a-bXc HI THERE hi there Hi There-You Hello"),
        RenderCase("{{ '{} and {}'.format('a', 'b') }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='N') }} {{ '{{literal}} {}'.format(1) }} {{ '{:>5}|{:<4}|{:^6}|{:.2f}'.format('r', 'l', 'c', 3.14159) }}", "", "a and b xyx N! {literal} 1     r|l   |  c   |3.14"),
        RenderCase("{{ 'hello'.find('l') }} {{ 'hello'.find('z') }} {{ 'hello'.rfind('l') }} {{ 'hello'.count('l') }} {{ 'hello'.index('e') }}", "", "2 -1 3 2 1"),
        RenderCase("{{ ', '.join(['a', 'b']) }} {{ ''.join(words) }} {{ '-'.join('abc') }}", "", "a, b bAca a-b-c"),
        RenderCase("{{ 'a\\nb\\r\\nc\\n'.splitlines() }} {{ 'a\\nb'.splitlines(true) }} {{ ''.splitlines() }}", "", "['a', 'b', 'c'] ['a\\n', 'b'] []"),
        RenderCase("{{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ '  '.isspace() }} {{ 'ab1'.isalnum() }} {{ 'abc'.islower() }} {{ 'ABC'.isupper() }}", "", "True True True True True True"),
        RenderCase("{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}", "", "1 None dflt ['a', 'b'] [1, [1, 2]] [('a', 1), ('b', [1, 2])]"),
        RenderCase("{% for k, v in users[0].items() %}{{ k }}={{ v }} {% endfor %}", "", "name=bob age=30 admin=False "),
        RenderCase("{{ xs.index(2) }} {{ xs.count(1) }} {{ xs.copy() }}", "", "1 1 [1, 2, 3]"),
        RenderCase("{{ 'a-b'.upper().split('-')|join('+') }}", "", "A+B"),
        RenderCase("{{ 'abc'.nomethod() }}", "", nil),  // UndefinedError: 'str object' has no attribute 'nomethod'
        RenderCase("{{ 'x'.startswith('x') and 'y'.endswith('y') }}", "", "True"),
        RenderCase("{{ s.upper() }} {{ s.title() }} {{ s|length }} {{ s[::-1] }}", "", "HÉLLO WÖRLD Héllo Wörld 11 dlröw olléh"),
        RenderCase("{{ '%s'.format(1) }} {{ 'ß'.upper() }} {{ 'İ'.lower()|length }}", "", "%s SS 2"),
    ]

    @Test(arguments: cases)
    func matchesJinja2(_ c: RenderCase) throws { try c.check() }
}
