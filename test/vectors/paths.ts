// The path table (SPEC §3.1; attack #36–#48): raw request-target ->
// normalised `path?query`, or 'reject'. Each row says why it matters.

export interface PathVector {
  readonly raw: string
  readonly expect: string | 'reject'
  readonly why: string
}

export const PATH_VECTORS: readonly PathVector[] = [
  // Unchanged (fast path)
  { raw: '/', expect: '/', why: 'the root is already normal' },
  { raw: '/api/v1/users', expect: '/api/v1/users', why: 'a plain path is already normal' },
  { raw: '/api/v1/users/', expect: '/api/v1/users/', why: 'a trailing slash is kept' },
  { raw: '/files/report.v2.json', expect: '/files/report.v2.json', why: 'dots inside a segment are not dot-segments' },
  { raw: '/a/...', expect: '/a/...', why: 'three dots are an ordinary segment' },
  { raw: '/a/..b/.c', expect: '/a/..b/.c', why: 'segments that merely start with dots are ordinary' },
  { raw: '/api/v1/users?x=1', expect: '/api/v1/users?x=1', why: 'the query is split off' },
  { raw: '/a?', expect: '/a?', why: 'an empty query keeps its ?' },

  // Dot segments (attack #36, #37)
  { raw: '/api/v1/version/../users', expect: '/api/v1/users', why: '.. removes the previous segment (RFC 3986 §5.2.4)' },
  { raw: '/api/v1/version/%2e%2e/users', expect: '/api/v1/users', why: 'encoded dots are decoded before dot-segment removal' },
  { raw: '/api/v1/version/.%2E/users', expect: '/api/v1/users', why: 'half-encoded .. is still ..' },
  { raw: '/api/v1/version/%2E./users', expect: '/api/v1/users', why: 'half-encoded .. the other way round' },
  { raw: '/pub/x/../../api/admin', expect: '/api/admin', why: 'several .. climb several levels' },
  { raw: '/./a/./b/.', expect: '/a/b/', why: '. segments vanish; a final . leaves a trailing slash' },
  { raw: '/a/b/..', expect: '/a/', why: 'a final .. leaves a trailing slash' },
  { raw: '/a/..', expect: '/', why: 'climbing back to the root is fine' },
  { raw: '/.', expect: '/', why: 'the root with a dot is the root' },
  { raw: '/..', expect: 'reject', why: '.. above the root' },
  { raw: '/a/../../b', expect: 'reject', why: '.. above the root in the middle of the path' },
  { raw: '/%2e%2e/etc/passwd', expect: 'reject', why: 'encoded .. above the root' },

  // Duplicate slashes (attack #40)
  { raw: '//api/v1/users', expect: '/api/v1/users', why: 'a leading // is collapsed, never an authority' },
  { raw: '/api//v1///users', expect: '/api/v1/users', why: 'slash runs are collapsed' },
  { raw: '/api/v1/users//', expect: '/api/v1/users/', why: 'a trailing slash run becomes one trailing slash' },
  { raw: '//', expect: '/', why: 'only slashes is the root' },

  // Encoded slash and backslash (attack #38)
  { raw: '/api/v1/users%2f..', expect: 'reject', why: 'an encoded slash would hide a dot-segment' },
  { raw: '/api/v1/users%2F', expect: 'reject', why: 'encoded slash, uppercase' },
  { raw: '/api/v1/users%5c', expect: 'reject', why: 'encoded backslash' },
  { raw: '/api%5Cadmin', expect: 'reject', why: 'encoded backslash, uppercase' },
  { raw: '/a\\b', expect: 'reject', why: 'raw backslash is read as / by WHATWG URL' },
  { raw: '/pub\\..\\api\\admin', expect: 'reject', why: 'backslash dot-segments' },

  // Bad or dangerous percent-encoding (attack #48)
  { raw: '/api/admin%00.pub', expect: 'reject', why: 'encoded NUL' },
  { raw: '/api/%0aadmin', expect: 'reject', why: 'encoded LF (regex . mismatch, CVE-2022-22978)' },
  { raw: '/api/admin%0D', expect: 'reject', why: 'encoded CR' },
  { raw: '/a%7f', expect: 'reject', why: 'encoded DEL' },
  { raw: '/a%zz', expect: 'reject', why: 'invalid hex digits' },
  { raw: '/a%4', expect: 'reject', why: 'truncated escape at the end' },
  { raw: '/a%4/b', expect: 'reject', why: 'truncated escape before a slash' },
  { raw: '/a%', expect: 'reject', why: 'a lone percent sign' },
  { raw: '/a/%C0%AF', expect: 'reject', why: 'overlong UTF-8 for / (the IIS double-decode trick)' },
  { raw: '/a/%C0%AE%C0%AE/b', expect: 'reject', why: 'overlong UTF-8 for .' },
  { raw: '/a/%E0%80%AF', expect: 'reject', why: 'three-byte overlong' },
  { raw: '/a/%ED%A0%80', expect: 'reject', why: 'a UTF-16 surrogate encoded as UTF-8' },
  { raw: '/a/%F4%90%80%80', expect: 'reject', why: 'above U+10FFFF' },
  { raw: '/a/%C3', expect: 'reject', why: 'truncated UTF-8 sequence' },
  { raw: '/a/%C3/%A9', expect: 'reject', why: 'a UTF-8 sequence split by a slash' },
  { raw: '/a/%80', expect: 'reject', why: 'a lone continuation byte' },
  { raw: '/a/%FF', expect: 'reject', why: 'a byte that never occurs in UTF-8' },
  { raw: '/caf%c3%a9', expect: '/caf%C3%A9', why: 'valid UTF-8 stays encoded, hex uppercased' },
  { raw: '/%F0%9F%98%80', expect: '/%F0%9F%98%80', why: 'a four-byte sequence is valid' },

  // Decoding unreserved, keeping reserved encoded (RFC 3986 §6.2.2)
  { raw: '/%41', expect: '/A', why: 'an encoded letter is decoded' },
  { raw: '/a%7eb', expect: '/a~b', why: 'an encoded tilde is decoded' },
  { raw: '/a%2Db%5Fc%30', expect: '/a-b_c0', why: '- _ and digits are unreserved' },
  { raw: '/a%3bb', expect: '/a%3Bb', why: 'an encoded ; stays encoded, hex uppercased' },
  { raw: '/a%20b', expect: '/a%20b', why: 'an encoded space stays encoded' },
  { raw: '/a%25b', expect: '/a%25b', why: 'an encoded % is never decoded (no double decoding)' },
  { raw: '/a%252e%252e/b', expect: 'reject', why: 'a double-encoded dot: text to us, a dot to an upstream that decodes twice' },
  { raw: '/a%252F..', expect: 'reject', why: 'a double-encoded slash' },
  { raw: '/a%255c', expect: 'reject', why: 'a double-encoded backslash' },
  { raw: '/a%25%32%65%25%32%65/b', expect: 'reject', why: 'a double-encoded dot whose 2e is itself encoded' },
  { raw: '/a%2541', expect: '/a%2541', why: '%25 before anything else is just an encoded %' },
  { raw: '/a%3fb', expect: '/a%3Fb', why: 'an encoded ? stays in the path' },

  // Raw characters that no request-target may hold
  { raw: '/a#b', expect: 'reject', why: 'a fragment (attack #41)' },
  { raw: '/a?x=1#frag', expect: 'reject', why: 'a fragment after the query' },
  { raw: '/a b', expect: 'reject', why: 'a raw space' },
  { raw: '/a\tb', expect: 'reject', why: 'a raw TAB' },
  { raw: '/a\u0000b', expect: 'reject', why: 'a raw NUL' },
  { raw: '/a\u007fb', expect: 'reject', why: 'a raw DEL' },
  { raw: '/caf\u00e9', expect: 'reject', why: 'a raw non-ASCII byte (node reads it as latin1)' },
  { raw: '/a?q=\u00e9', expect: 'reject', why: 'a raw non-ASCII byte in the query' },
  { raw: '/a?q=1 2', expect: 'reject', why: 'a raw space in the query' },

  // Not origin-form (RFC 9112 §3.2)
  { raw: 'http://evil/a', expect: 'reject', why: 'absolute-form' },
  { raw: 'evil.example:443', expect: 'reject', why: 'authority-form' },
  { raw: '*', expect: 'reject', why: 'asterisk-form' },
  { raw: '', expect: 'reject', why: 'empty target' },
  { raw: '?x=1', expect: 'reject', why: 'a query without a path' },

  // Query forwarded verbatim
  { raw: '/a/./b?path=../../etc&x=%2F%zz', expect: '/a/b?path=../../etc&x=%2F%zz', why: 'the query is never normalised or decoded' },
  { raw: '/a?x=1?y=2', expect: '/a?x=1?y=2', why: 'only the first ? splits' },
  { raw: '/a?x=a\\b', expect: '/a?x=a\\b', why: 'a backslash in the query is left to the upstream' },

  // Path parameters (attack #43)
  { raw: '/pub/..;/api/admin', expect: 'reject', why: 'Tomcat reads ..; as .. ' },
  { raw: '/pub/.;x/api', expect: 'reject', why: 'Tomcat reads .;x as .' },
  { raw: '/pub/%2e%2e%3bx/api', expect: 'reject', why: 'encoded ..; is refused too' },
  { raw: '/pub;/../api/admin', expect: '/api/admin', why: 'pub; is an ordinary segment that .. removes, as WHATWG URL does' },
  { raw: '/api/admin;jsessionid=1', expect: '/api/admin;jsessionid=1', why: 'parameters on an ordinary segment are kept' },
]
