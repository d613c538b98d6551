package io.basalt.signing;

import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.TreeMap;

/**
 * Strict JSON parser and OLPC canonical JSON encoder as TUF uses them: object keys sorted by Unicode
 * code point, integers only (no floats), only {@code "} and {@code \} escaped, everything else
 * written as raw UTF-8, duplicate keys rejected on parse. Values are plain Java objects:
 * {@code Map<String,Object>} (sorted, unmodifiable), {@code List<Object>}, {@code String},
 * {@code Long}, {@code Boolean} and {@link #NULL}. Stateless and thread-safe.
 */
public final class CanonicalJson {

  /** The JSON {@code null} value (maps cannot hold Java null values cleanly). */
  public static final Object NULL = new Object() {
    @Override
    public String toString() {
      return "null";
    }
  };

  /** Orders strings by Unicode code point (String.compareTo orders UTF-16 units, which differs). */
  public static final Comparator<String> CODE_POINT_ORDER = (a, b) -> {
    int n = Math.min(a.length(), b.length());
    for (int i = 0; i < n; i++) {
      int ca = a.charAt(i);
      int cb = b.charAt(i);
      if (ca != cb) {
        // UTF-16 order equals code point order except that surrogates (D800-DFFF, i.e. code
        // points above FFFF) must sort after E000-FFFF: shift both ranges when both are >= D800.
        if (ca >= 0xD800 && cb >= 0xD800) {
          ca = ca >= 0xE000 ? ca - 0x800 : ca + 0x2000;
          cb = cb >= 0xE000 ? cb - 0x800 : cb + 0x2000;
        }
        return Integer.compare(ca, cb);
      }
    }
    return Integer.compare(a.length(), b.length());
  };

  private static final int MAX_DEPTH = 64;

  private CanonicalJson() {}

  /** A sorted map suitable for building canonical objects. */
  public static Map<String, Object> newObject() {
    return new TreeMap<>(CODE_POINT_ORDER);
  }

  /**
   * Parses UTF-8 JSON strictly.
   *
   * @throws JsonFormatException on malformed input, floats, duplicate keys or trailing data
   */
  public static Object parse(byte[] utf8) throws JsonFormatException {
    Parser p = new Parser(utf8);
    p.skipWs();
    Object v = p.value(0);
    p.skipWs();
    if (p.pos != utf8.length) {
      throw p.error("trailing data after the JSON value");
    }
    return v;
  }

  /** Parses a JSON text that must be an object. */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> parseObject(byte[] utf8) throws JsonFormatException {
    Object v = parse(utf8);
    if (!(v instanceof Map)) {
      throw new JsonFormatException("expected a JSON object at the top level, found " + typeName(v));
    }
    return (Map<String, Object>) v;
  }

  /**
   * Encodes a value in canonical form.
   *
   * @throws IllegalArgumentException if the value holds a type JSON cannot carry canonically
   */
  public static byte[] encode(Object value) {
    StringBuilder sb = new StringBuilder(256);
    write(sb, value);
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Pretty (indented) but otherwise canonical-ordered form, for files people read. */
  public static byte[] encodePretty(Object value) {
    StringBuilder sb = new StringBuilder(256);
    writePretty(sb, value, 0);
    sb.append('\n');
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  static String typeName(Object v) {
    if (v instanceof Map) {
      return "object";
    } else if (v instanceof List) {
      return "array";
    } else if (v instanceof String) {
      return "string";
    } else if (v instanceof Long) {
      return "integer";
    } else if (v instanceof Boolean) {
      return "boolean";
    } else if (v == NULL) {
      return "null";
    }
    return v == null ? "nothing" : v.getClass().getSimpleName();
  }

  private static void write(StringBuilder sb, Object v) {
    write(sb, v, false);
  }

  private static void write(StringBuilder sb, Object v, boolean json) {
    if (v instanceof Map<?, ?> m) {
      List<String> keys = sortedKeys(m);
      sb.append('{');
      boolean first = true;
      for (String k : keys) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        writeString(sb, k, json);
        sb.append(':');
        write(sb, m.get(k), json);
      }
      sb.append('}');
    } else if (v instanceof List<?> l) {
      sb.append('[');
      for (int i = 0; i < l.size(); i++) {
        if (i > 0) {
          sb.append(',');
        }
        write(sb, l.get(i), json);
      }
      sb.append(']');
    } else {
      writeScalar(sb, v, json);
    }
  }

  private static void writePretty(StringBuilder sb, Object v, int indent) {
    if (v instanceof Map<?, ?> m && !m.isEmpty()) {
      sb.append("{\n");
      List<String> keys = sortedKeys(m);
      for (int i = 0; i < keys.size(); i++) {
        sb.append("  ".repeat(indent + 1));
        writeString(sb, keys.get(i), true);
        sb.append(": ");
        writePretty(sb, m.get(keys.get(i)), indent + 1);
        sb.append(i + 1 < keys.size() ? ",\n" : "\n");
      }
      sb.append("  ".repeat(indent)).append('}');
    } else if (v instanceof List<?> l && !l.isEmpty()) {
      sb.append("[\n");
      for (int i = 0; i < l.size(); i++) {
        sb.append("  ".repeat(indent + 1));
        writePretty(sb, l.get(i), indent + 1);
        sb.append(i + 1 < l.size() ? ",\n" : "\n");
      }
      sb.append("  ".repeat(indent)).append(']');
    } else {
      write(sb, v, true);
    }
  }

  private static List<String> sortedKeys(Map<?, ?> m) {
    List<String> keys = new ArrayList<>(m.size());
    for (Object k : m.keySet()) {
      if (!(k instanceof String s)) {
        throw new IllegalArgumentException("JSON object key must be a string, found " + k);
      }
      keys.add(s);
    }
    keys.sort(CODE_POINT_ORDER);
    return keys;
  }

  private static void writeScalar(StringBuilder sb, Object v, boolean json) {
    if (v instanceof String s) {
      writeString(sb, s, json);
    } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
      sb.append(((Number) v).longValue());
    } else if (v instanceof Boolean b) {
      sb.append(b ? "true" : "false");
    } else if (v == NULL) {
      sb.append("null");
    } else {
      throw new IllegalArgumentException("value not allowed in canonical JSON: "
          + (v == null ? "Java null" : v.getClass().getName() + " " + v));
    }
  }

  /** Canonical strings escape only quote and backslash; plain-JSON output also escapes control characters. */
  private static void writeString(StringBuilder sb, String s, boolean json) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\');
      } else if (json && c < 0x20) {
        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
        continue;
      }
      sb.append(c);
    }
    sb.append('"');
  }

  /**
   * A parsed document whose top level is an object, with where the value of one of its top-level
   * keys lies in the input and whether every object inside that value listed its keys in canonical
   * order (then {@link #canonicalSpan} re-emits it canonically without a tree walk).
   */
  record Document(Map<String, Object> top, int spanStart, int spanEnd, boolean spanSorted) {}

  /**
   * Parses a document that must be an object and records the byte span of the value of the
   * top-level key {@code spanKey} (-1 when absent).
   */
  @SuppressWarnings("unchecked")
  static Document parseDocument(byte[] utf8, String spanKey) throws JsonFormatException {
    Parser p = new Parser(utf8);
    p.spanKey = spanKey;
    p.skipWs();
    Object v = p.value(0);
    p.skipWs();
    if (p.pos != utf8.length) {
      throw p.error("trailing data after the JSON value");
    }
    if (!(v instanceof Map)) {
      throw new JsonFormatException("expected a JSON object at the top level, found " + typeName(v));
    }
    return new Document((Map<String, Object>) v, p.spanStart, p.spanEnd, p.spanSorted);
  }

  /**
   * The canonical encoding of the JSON value at {@code b[start, end)}, written straight from the
   * bytes: whitespace dropped, escapes other than {@code \"} and {@code \\} resolved to raw UTF-8,
   * {@code -0} written as {@code 0}. Only for input the strict parser accepted and whose objects all
   * list their keys in canonical order (the caller knows from {@link #parseDocument}); returns null
   * when a {@code \\u} escape of a surrogate makes the tree encoding the reference (it would write
   * a lone surrogate as {@code ?}). Equals {@code encode(parse(b[start, end)))} otherwise.
   */
  static byte[] canonicalSpan(byte[] b, int start, int end) {
    byte[] out = new byte[end - start];
    int n = 0;
    int i = start;
    while (i < end) {
      byte c = b[i];
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        i++;
      } else if (c == '"') {
        out[n++] = '"';
        i++;
        while (true) {
          c = b[i];
          if (c == '"') {
            out[n++] = '"';
            i++;
            break;
          }
          if (c != '\\') {
            out[n++] = c;
            i++;
            continue;
          }
          byte e = b[i + 1];
          i += 2;
          switch (e) {
            case '"', '\\' -> {
              out[n++] = '\\';
              out[n++] = e;
            }
            case '/' -> out[n++] = '/';
            case 'b' -> out[n++] = '\b';
            case 'f' -> out[n++] = '\f';
            case 'n' -> out[n++] = '\n';
            case 'r' -> out[n++] = '\r';
            case 't' -> out[n++] = '\t';
            default -> { // 'u': the parser checked four hex digits
              int u = Integer.parseInt(new String(b, i, 4, StandardCharsets.ISO_8859_1), 16);
              i += 4;
              if (u >= 0xD800 && u <= 0xDFFF) {
                return null;
              }
              // at most 3 bytes of output for the 6 bytes of the escape
              if (u == '"' || u == '\\') {
                out[n++] = '\\';
                out[n++] = (byte) u;
              } else if (u < 0x80) {
                out[n++] = (byte) u;
              } else if (u < 0x800) {
                out[n++] = (byte) (0xC0 | (u >> 6));
                out[n++] = (byte) (0x80 | (u & 0x3F));
              } else {
                out[n++] = (byte) (0xE0 | (u >> 12));
                out[n++] = (byte) (0x80 | ((u >> 6) & 0x3F));
                out[n++] = (byte) (0x80 | (u & 0x3F));
              }
            }
          }
        }
      } else if (c == '-' && b[i + 1] == '0') {
        out[n++] = '0'; // "-0" is the integer 0 (the parser rejects "-01")
        i += 2;
      } else {
        out[n++] = c;
        i++;
      }
    }
    return Arrays.copyOf(out, n);
  }

  /**
   * An object parsed with its keys in canonical order: keys and values in sorted arrays, looked up
   * by binary search. Unmodifiable; iterates in canonical order.
   */
  static final class SortedObject extends AbstractMap<String, Object> {
    static final SortedObject EMPTY = new SortedObject(new String[0], new Object[0]);

    private final String[] keys;
    private final Object[] values;

    SortedObject(String[] keys, Object[] values) {
      this.keys = keys;
      this.values = values;
    }

    private int indexOf(Object key) {
      if (!(key instanceof String k)) {
        return -1;
      }
      int lo = 0;
      int hi = keys.length - 1;
      while (lo <= hi) {
        int mid = (lo + hi) >>> 1;
        int c = CODE_POINT_ORDER.compare(keys[mid], k);
        if (c < 0) {
          lo = mid + 1;
        } else if (c > 0) {
          hi = mid - 1;
        } else {
          return mid;
        }
      }
      return -1;
    }

    @Override
    public Object get(Object key) {
      int i = indexOf(key);
      return i < 0 ? null : values[i];
    }

    @Override
    public boolean containsKey(Object key) {
      return indexOf(key) >= 0;
    }

    @Override
    public int size() {
      return keys.length;
    }

    @Override
    public Set<Entry<String, Object>> entrySet() {
      return new AbstractSet<>() {
        @Override
        public Iterator<Entry<String, Object>> iterator() {
          return new Iterator<>() {
            int i;

            @Override
            public boolean hasNext() {
              return i < keys.length;
            }

            @Override
            public Entry<String, Object> next() {
              if (i >= keys.length) {
                throw new NoSuchElementException();
              }
              Entry<String, Object> e = new SimpleImmutableEntry<>(keys[i], values[i]);
              i++;
              return e;
            }
          };
        }

        @Override
        public int size() {
          return keys.length;
        }
      };
    }
  }

  /**
   * Strict parser over the UTF-8 bytes (no decoding pass): UTF-8 is checked inside strings, where
   * alone non-ASCII bytes may appear; errors give line and column (in characters).
   */
  private static final class Parser {
    final byte[] b;
    int pos;
    String spanKey;
    int spanStart = -1;
    int spanEnd = -1;
    boolean spanSorted;
    /** Objects seen so far whose keys were not in canonical order. */
    int unsortedObjects;
    /** Scratch stacks for the keys and values of the objects being parsed (reused across objects). */
    String[] keyStack = new String[64];
    Object[] valueStack = new Object[64];
    int stackTop;

    Parser(byte[] b) {
      this.b = b;
    }

    JsonFormatException error(String msg) {
      int line = 1;
      int col = 1;
      for (int i = 0; i < Math.min(pos, b.length); i++) {
        int c = b[i] & 0xFF;
        if (c == '\n') {
          line++;
          col = 1;
        } else if ((c & 0xC0) != 0x80) {
          col += c >= 0xF0 ? 2 : 1; // UTF-16 units, as a text editor counts them
        }
      }
      return new JsonFormatException(msg + " at line " + line + ", column " + col);
    }

    void skipWs() {
      while (pos < b.length) {
        byte c = b[pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
          pos++;
        } else {
          break;
        }
      }
    }

    Object value(int depth) throws JsonFormatException {
      if (depth > MAX_DEPTH) {
        throw error("nesting deeper than " + MAX_DEPTH);
      }
      if (pos >= b.length) {
        throw error("unexpected end of input");
      }
      byte c = b[pos];
      switch (c) {
        case '{':
          return object(depth);
        case '[':
          return array(depth);
        case '"':
          return string();
        case 't':
          literal("true");
          return Boolean.TRUE;
        case 'f':
          literal("false");
          return Boolean.FALSE;
        case 'n':
          literal("null");
          return NULL;
        default:
          if (c == '-' || (c >= '0' && c <= '9')) {
            return number();
          }
          if (c < 0) {
            throw error("unexpected character '" + charAt(pos) + "'");
          }
          throw error("unexpected character '" + (char) c + "'");
      }
    }

    /** The character starting at byte i, for messages (the replacement character if invalid). */
    private String charAt(int i) {
      int len = utf8Length(i);
      return len < 0 ? "\uFFFD" : new String(b, i, len, StandardCharsets.UTF_8);
    }

    void literal(String word) throws JsonFormatException {
      int n = word.length();
      if (pos + n > b.length) {
        throw error("expected " + word);
      }
      for (int i = 0; i < n; i++) {
        if (b[pos + i] != word.charAt(i)) {
          throw error("expected " + word);
        }
      }
      pos += n;
    }

    Object number() throws JsonFormatException {
      int start = pos;
      boolean negative = b[pos] == '-';
      if (negative) {
        pos++;
      }
      int digitsStart = pos;
      long v = 0;
      while (pos < b.length && b[pos] >= '0' && b[pos] <= '9') {
        v = v * 10 + (b[pos] - '0'); // exact up to 18 digits; longer ones are re-parsed below
        pos++;
      }
      int digits = pos - digitsStart;
      if (digits == 0) {
        throw error("expected digits");
      }
      if (pos < b.length) {
        byte c = b[pos];
        if (c == '.' || c == 'e' || c == 'E') {
          pos = start;
          throw error("floating-point numbers are not allowed in canonical JSON");
        }
      }
      if (b[digitsStart] == '0' && digits > 1) {
        pos = start;
        throw error("leading zeros are not allowed");
      }
      if (digits <= 18) {
        return negative ? -v : v;
      }
      try {
        return Long.parseLong(new String(b, start, pos - start, StandardCharsets.ISO_8859_1));
      } catch (NumberFormatException e) {
        pos = start;
        throw error("integer out of range");
      }
    }

    /**
     * Length of the strictly valid UTF-8 sequence starting at i with a non-ASCII lead byte, or -1
     * (overlong forms, surrogates, code points above U+10FFFF and truncated sequences are invalid,
     * as for the JDK's decoder in REPORT mode).
     */
    int utf8Length(int i) {
      int c = b[i] & 0xFF;
      int n;
      int lo = 0x80;
      int hi = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
      } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) {
          lo = 0xA0;
        } else if (c == 0xED) {
          hi = 0x9F;
        }
      } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) {
          lo = 0x90;
        } else if (c == 0xF4) {
          hi = 0x8F;
        }
      } else {
        return -1;
      }
      if (i + n > b.length) {
        return -1;
      }
      int c1 = b[i + 1] & 0xFF;
      if (c1 < lo || c1 > hi) {
        return -1;
      }
      for (int k = 2; k < n; k++) {
        if ((b[i + k] & 0xC0) != 0x80) {
          return -1;
        }
      }
      return n;
    }

    String string() throws JsonFormatException {
      pos++; // opening quote
      StringBuilder sb = null;
      int runStart = pos;
      boolean ascii = true;
      while (true) {
        if (pos >= b.length) {
          throw error("unterminated string");
        }
        byte c = b[pos];
        if (c == '"') {
          String run = new String(b, runStart, pos - runStart,
              ascii ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
          pos++;
          return sb == null ? run : sb.append(run).toString();
        }
        if (c >= 0 && c < 0x20) {
          throw error("unescaped control character in string");
        }
        if (c < 0) {
          int n = utf8Length(pos);
          if (n < 0) {
            throw error("input is not valid UTF-8");
          }
          ascii = false;
          pos += n;
        } else if (c == '\\') {
          if (sb == null) {
            sb = new StringBuilder();
          }
          sb.append(new String(b, runStart, pos - runStart,
              ascii ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8));
          ascii = true;
          pos++;
          if (pos >= b.length) {
            throw error("unterminated escape");
          }
          byte e = b[pos++];
          switch (e) {
            case '"' -> sb.append('"');
            case '\\' -> sb.append('\\');
            case '/' -> sb.append('/');
            case 'b' -> sb.append('\b');
            case 'f' -> sb.append('\f');
            case 'n' -> sb.append('\n');
            case 'r' -> sb.append('\r');
            case 't' -> sb.append('\t');
            case 'u' -> {
              if (pos + 4 > b.length) {
                throw error("short \\u escape");
              }
              int u = 0;
              for (int k = 0; k < 4; k++) {
                int d = Character.digit(b[pos + k], 16);
                if (d < 0) {
                  throw error("bad \\u escape");
                }
                u = u * 16 + d;
              }
              sb.append((char) u);
              pos += 4;
            }
            default -> {
              pos--;
              throw error("bad escape \\" + (e < 0 ? charAt(pos) : String.valueOf((char) e)));
            }
          }
          runStart = pos;
        } else {
          pos++;
        }
      }
    }

    List<Object> array(int depth) throws JsonFormatException {
      pos++;
      List<Object> out = new ArrayList<>();
      skipWs();
      if (pos < b.length && b[pos] == ']') {
        pos++;
        return Collections.unmodifiableList(out);
      }
      while (true) {
        skipWs();
        out.add(value(depth + 1));
        skipWs();
        if (pos >= b.length) {
          throw error("unterminated array");
        }
        byte c = b[pos++];
        if (c == ']') {
          return Collections.unmodifiableList(out);
        }
        if (c != ',') {
          pos--;
          throw error("expected ',' or ']'");
        }
      }
    }

    Map<String, Object> object(int depth) throws JsonFormatException {
      pos++;
      // Canonical (and most) documents list keys already sorted: strictly increasing keys cannot
      // repeat, so they are collected on a scratch stack and become a SortedObject (no hashing);
      // only out-of-order input pays for a TreeMap with duplicate checks.
      int base = stackTop;
      TreeMap<String, Object> unsorted = null;
      skipWs();
      if (pos < b.length && b[pos] == '}') {
        pos++;
        return SortedObject.EMPTY;
      }
      try {
        while (true) {
          skipWs();
          if (pos >= b.length || b[pos] != '"') {
            throw error("expected a string key");
          }
          int keyPos = pos;
          String key = string();
          skipWs();
          if (pos >= b.length || b[pos] != ':') {
            throw error("expected ':'");
          }
          pos++;
          skipWs();
          int valueStart = pos;
          int unsortedBefore = unsortedObjects;
          Object v = value(depth + 1);
          if (depth == 0 && key.equals(spanKey)) {
            spanStart = valueStart;
            spanEnd = pos;
            spanSorted = unsortedObjects == unsortedBefore;
          }
          if (unsorted == null && stackTop > base && CODE_POINT_ORDER.compare(keyStack[stackTop - 1], key) >= 0) {
            unsortedObjects++;
            unsorted = new TreeMap<>(CODE_POINT_ORDER);
            for (int i = base; i < stackTop; i++) {
              unsorted.put(keyStack[i], valueStack[i]);
            }
          }
          if (unsorted != null) {
            if (unsorted.put(key, v) != null) {
              pos = keyPos;
              throw error("duplicate key \"" + key + "\"");
            }
          } else {
            push(key, v);
          }
          skipWs();
          if (pos >= b.length) {
            throw error("unterminated object");
          }
          byte c = b[pos++];
          if (c == '}') {
            if (unsorted != null) {
              return Collections.unmodifiableMap(unsorted);
            }
            return new SortedObject(Arrays.copyOfRange(keyStack, base, stackTop),
                Arrays.copyOfRange(valueStack, base, stackTop));
          }
          if (c != ',') {
            pos--;
            throw error("expected ',' or '}'");
          }
        }
      } finally {
        Arrays.fill(valueStack, base, stackTop, null);
        stackTop = base;
      }
    }

    private void push(String key, Object v) {
      if (stackTop == keyStack.length) {
        keyStack = Arrays.copyOf(keyStack, stackTop * 2);
        valueStack = Arrays.copyOf(valueStack, stackTop * 2);
      }
      keyStack[stackTop] = key;
      valueStack[stackTop] = v;
      stackTop++;
    }
  }
}
