package io.basalt.signing.json;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Strict JSON parser and OLPC canonical JSON encoder as TUF uses them: object keys sorted by
 * Unicode code point, integers only (no floats), only {@code "} and {@code \} escaped, everything
 * else written as raw UTF-8, duplicate keys rejected on parse. Values are plain Java objects:
 * {@code Map<String,Object>} (sorted, unmodifiable), {@code List<Object>}, {@code String}, {@code
 * Long}, {@code Boolean} and {@link #NULL}. Stateless and thread-safe.
 */
public final class CanonicalJson {

  /** The JSON {@code null} value (maps cannot hold Java null values cleanly). */
  public static final Object NULL =
      new Object() {
        @Override
        public String toString() {
          return "null";
        }
      };

  /** Orders strings by Unicode code point (String.compareTo orders UTF-16 units, which differs). */
  public static final Comparator<String> CODE_POINT_ORDER =
      (a, b) -> {
        int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++) {
          int ca = a.charAt(i);
          int cb = b.charAt(i);
          if (ca != cb) {
            // UTF-16 order equals code point order except that surrogates (D800-DFFF, i.e. code
            // points above FFFF) must sort after E000-FFFF: shift both ranges when both are >=
            // D800.
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
      throw new JsonFormatException(
          "expected a JSON object at the top level, found " + typeName(v));
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

  public static String typeName(Object v) {
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
    } else if (v instanceof Long
        || v instanceof Integer
        || v instanceof Short
        || v instanceof Byte) {
      sb.append(((Number) v).longValue());
    } else if (v instanceof Boolean b) {
      sb.append(b ? "true" : "false");
    } else if (v == NULL) {
      sb.append("null");
    } else {
      throw new IllegalArgumentException(
          "value not allowed in canonical JSON: "
              + (v == null ? "Java null" : v.getClass().getName() + " " + v));
    }
  }

  /**
   * Canonical strings escape only quote and backslash; plain-JSON output also escapes control
   * characters.
   */
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
   * Strict parser over the UTF-8 bytes (no decoding pass): UTF-8 is checked inside strings, where
   * alone non-ASCII bytes may appear; errors give line and column (in characters).
   */
  private static final class Parser {
    final byte[] b;
    int pos;

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
          String run =
              new String(
                  b,
                  runStart,
                  pos - runStart,
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
          sb.append(
              new String(
                  b,
                  runStart,
                  pos - runStart,
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
      TreeMap<String, Object> out = new TreeMap<>(CODE_POINT_ORDER);
      skipWs();
      if (pos < b.length && b[pos] == '}') {
        pos++;
        return Collections.unmodifiableMap(out);
      }
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
        Object v = value(depth + 1);
        if (out.put(key, v) != null) {
          pos = keyPos;
          throw error("duplicate key \"" + key + "\"");
        }
        skipWs();
        if (pos >= b.length) {
          throw error("unterminated object");
        }
        byte c = b[pos++];
        if (c == '}') {
          return Collections.unmodifiableMap(out);
        }
        if (c != ',') {
          pos--;
          throw error("expected ',' or '}'");
        }
      }
    }
  }
}
