package io.basalt.signing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
    String text = decodeStrictUtf8(utf8);
    Parser p = new Parser(text);
    p.skipWs();
    Object v = p.value(0);
    p.skipWs();
    if (p.pos != text.length()) {
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
        sb.append(String.format("\\u%04x", (int) c));
        continue;
      }
      sb.append(c);
    }
    sb.append('"');
  }

  private static String decodeStrictUtf8(byte[] b) throws JsonFormatException {
    var dec = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
        .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
    try {
      return dec.decode(java.nio.ByteBuffer.wrap(b)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new JsonFormatException("input is not valid UTF-8");
    }
  }

  private static final class Parser {
    final String s;
    int pos;

    Parser(String s) {
      this.s = s;
    }

    JsonFormatException error(String msg) {
      int line = 1;
      int col = 1;
      for (int i = 0; i < Math.min(pos, s.length()); i++) {
        if (s.charAt(i) == '\n') {
          line++;
          col = 1;
        } else {
          col++;
        }
      }
      return new JsonFormatException(msg + " at line " + line + ", column " + col);
    }

    void skipWs() {
      while (pos < s.length()) {
        char c = s.charAt(pos);
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
      if (pos >= s.length()) {
        throw error("unexpected end of input");
      }
      char c = s.charAt(pos);
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
          throw error("unexpected character '" + c + "'");
      }
    }

    void literal(String word) throws JsonFormatException {
      if (!s.startsWith(word, pos)) {
        throw error("expected " + word);
      }
      pos += word.length();
    }

    Object number() throws JsonFormatException {
      int start = pos;
      if (s.charAt(pos) == '-') {
        pos++;
      }
      int digitsStart = pos;
      while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
        pos++;
      }
      if (pos == digitsStart) {
        throw error("expected digits");
      }
      if (pos < s.length()) {
        char c = s.charAt(pos);
        if (c == '.' || c == 'e' || c == 'E') {
          pos = start;
          throw error("floating-point numbers are not allowed in canonical JSON");
        }
      }
      if (s.charAt(digitsStart) == '0' && pos - digitsStart > 1) {
        pos = start;
        throw error("leading zeros are not allowed");
      }
      try {
        return Long.parseLong(s.substring(start, pos));
      } catch (NumberFormatException e) {
        pos = start;
        throw error("integer out of range");
      }
    }

    String string() throws JsonFormatException {
      pos++; // opening quote
      StringBuilder sb = null;
      int runStart = pos;
      while (true) {
        if (pos >= s.length()) {
          throw error("unterminated string");
        }
        char c = s.charAt(pos);
        if (c == '"') {
          String out = sb == null ? s.substring(runStart, pos) : sb.append(s, runStart, pos).toString();
          pos++;
          return out;
        }
        if (c < 0x20) {
          throw error("unescaped control character in string");
        }
        if (c == '\\') {
          if (sb == null) {
            sb = new StringBuilder();
          }
          sb.append(s, runStart, pos);
          pos++;
          if (pos >= s.length()) {
            throw error("unterminated escape");
          }
          char e = s.charAt(pos++);
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
              if (pos + 4 > s.length()) {
                throw error("short \\u escape");
              }
              try {
                sb.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
              } catch (NumberFormatException ex) {
                throw error("bad \\u escape");
              }
              pos += 4;
            }
            default -> throw error("bad escape \\" + e);
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
      if (pos < s.length() && s.charAt(pos) == ']') {
        pos++;
        return Collections.unmodifiableList(out);
      }
      while (true) {
        skipWs();
        out.add(value(depth + 1));
        skipWs();
        if (pos >= s.length()) {
          throw error("unterminated array");
        }
        char c = s.charAt(pos++);
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
      // Canonical (and most) documents list keys already sorted: keep them in a LinkedHashMap
      // (one comparison per key, hashed lookups); only out-of-order input pays for a TreeMap.
      Map<String, Object> out = new LinkedHashMap<>();
      boolean inOrder = true;
      String last = null;
      skipWs();
      if (pos < s.length() && s.charAt(pos) == '}') {
        pos++;
        return Collections.unmodifiableMap(out);
      }
      while (true) {
        skipWs();
        if (pos >= s.length() || s.charAt(pos) != '"') {
          throw error("expected a string key");
        }
        int keyPos = pos;
        String key = string();
        skipWs();
        if (pos >= s.length() || s.charAt(pos) != ':') {
          throw error("expected ':'");
        }
        pos++;
        skipWs();
        Object v = value(depth + 1);
        if (inOrder && last != null && CODE_POINT_ORDER.compare(last, key) >= 0) {
          inOrder = false;
          Map<String, Object> sorted = newObject();
          sorted.putAll(out);
          out = sorted;
        }
        last = key;
        if (out.put(key, v) != null) {
          pos = keyPos;
          throw error("duplicate key \"" + key + "\"");
        }
        skipWs();
        if (pos >= s.length()) {
          throw error("unterminated object");
        }
        char c = s.charAt(pos++);
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
