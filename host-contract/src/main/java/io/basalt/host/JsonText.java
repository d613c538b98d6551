package io.basalt.host;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The strict JSON (RFC 8259) subset host contracts are written in: objects (no duplicate keys),
 * arrays, strings, integers (no fraction, exponent or leading zero), {@code true}, {@code false},
 * {@code null}; UTF-8 only; nothing after the value. Errors name the file, line and column or the
 * key. Package-private: contracts expose typed readers, not JSON trees. Not thread-safe.
 */
final class JsonText {

  private JsonText() {}

  /** Escapes a string for a JSON string literal. */
  static String escape(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  /** Parses one document and answers typed questions about it with key-naming errors. */
  static final class Reader {
    private final String text;
    private final String where;
    private final Map<Object, Integer> lines = new IdentityHashMap<>();
    private int pos;
    private int line = 1;
    private int lineStart;

    Reader(byte[] utf8, String where) throws IOException {
      this.where = where;
      try {
        this.text =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(java.nio.ByteBuffer.wrap(utf8))
                .toString();
      } catch (CharacterCodingException e) {
        throw new IOException(where + ": not UTF-8 text", e);
      }
    }

    /** Parses the whole text, which must be one object. */
    Map<String, Object> document() throws IOException {
      space();
      if (peek() != '{') {
        throw syntax("expected a JSON object");
      }
      Object v = value();
      space();
      if (pos != text.length()) {
        throw syntax("unexpected data after the JSON value");
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> m = (Map<String, Object>) v;
      return m;
    }

    /** Requires exactly {@code keys} in {@code obj}. */
    void keys(Map<String, Object> obj, String prefix, String... keys) throws IOException {
      Set<String> want = Set.of(keys);
      for (String k : obj.keySet()) {
        if (!want.contains(k)) {
          throw error(prefix + k, "unknown key", obj);
        }
      }
      for (String k : keys) {
        if (!obj.containsKey(k)) {
          throw error(prefix + k, "missing", obj);
        }
      }
    }

    String string(Map<String, Object> obj, String prefix, String key) throws IOException {
      if (obj.get(key) instanceof String s) {
        return s;
      }
      throw error(prefix + key, "expected a string, found " + obj.get(key), obj);
    }

    long integer(Map<String, Object> obj, String prefix, String key, long min, long max)
        throws IOException {
      if (obj.get(key) instanceof Long n && n >= min && n <= max) {
        return n;
      }
      throw error(
          prefix + key,
          "expected an integer in " + min + ".." + max + ", found " + obj.get(key),
          obj);
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> object(Map<String, Object> obj, String prefix, String key)
        throws IOException {
      if (obj.get(key) instanceof Map<?, ?> m) {
        return (Map<String, Object>) m;
      }
      throw error(prefix + key, "expected an object, found " + obj.get(key), obj);
    }

    @SuppressWarnings("unchecked")
    List<Object> array(Map<String, Object> obj, String prefix, String key) throws IOException {
      if (obj.get(key) instanceof List<?> l) {
        return (List<Object>) l;
      }
      throw error(prefix + key, "expected an array, found " + obj.get(key), obj);
    }

    /** An error about {@code key}, at the line where {@code node} (an object or array) starts. */
    IOException error(String key, String message, Object node) {
      Integer at = node == null ? null : lines.get(node);
      return new IOException(where + (at == null ? "" : ":" + at) + ": " + key + ": " + message);
    }

    /** An error about {@code key} without a line. */
    IOException error(String key, String message) {
      return error(key, message, null);
    }

    /** The line where a parsed object or array starts, or 0. */
    int lineOf(Object node) {
      return lines.getOrDefault(node, 0);
    }

    private Object value() throws IOException {
      space();
      char c = peek();
      int startLine = line;
      switch (c) {
        case '{' -> {
          pos++;
          Map<String, Object> m = new LinkedHashMap<>();
          lines.put(m, startLine);
          space();
          if (peek() == '}') {
            pos++;
            return m;
          }
          while (true) {
            space();
            if (peek() != '"') {
              throw syntax("expected a key string");
            }
            String k = string();
            space();
            expect(':');
            Object v = value();
            if (m.containsKey(k)) {
              throw syntax("duplicate key \"" + k + "\"");
            }
            m.put(k, v);
            space();
            if (peek() == ',') {
              pos++;
            } else {
              expect('}');
              return m;
            }
          }
        }
        case '[' -> {
          pos++;
          List<Object> l = new ArrayList<>();
          lines.put(l, startLine);
          space();
          if (peek() == ']') {
            pos++;
            return l;
          }
          while (true) {
            l.add(value());
            space();
            if (peek() == ',') {
              pos++;
            } else {
              expect(']');
              return l;
            }
          }
        }
        case '"' -> {
          return string();
        }
        case 't' -> {
          word("true");
          return Boolean.TRUE;
        }
        case 'f' -> {
          word("false");
          return Boolean.FALSE;
        }
        case 'n' -> {
          word("null");
          return null;
        }
        default -> {
          if (c == '-' || (c >= '0' && c <= '9')) {
            return number();
          }
          throw syntax(c == 0 ? "unexpected end of text" : "unexpected character '" + c + "'");
        }
      }
    }

    private Long number() throws IOException {
      int start = pos;
      if (peek() == '-') {
        pos++;
      }
      int digits = pos;
      while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') {
        pos++;
      }
      if (pos == digits) {
        throw syntax("expected a digit");
      }
      if (text.charAt(digits) == '0' && pos - digits > 1) {
        throw syntax("leading zero in a number");
      }
      char c = peek();
      if (c == '.' || c == 'e' || c == 'E') {
        throw syntax("only integers are allowed");
      }
      try {
        return Long.parseLong(text.substring(start, pos));
      } catch (NumberFormatException e) {
        throw syntax("integer out of range");
      }
    }

    private String string() throws IOException {
      pos++; // opening quote
      StringBuilder b = new StringBuilder();
      while (true) {
        if (pos >= text.length()) {
          throw syntax("unterminated string");
        }
        char c = text.charAt(pos++);
        if (c == '"') {
          return b.toString();
        }
        if (c < 0x20) {
          throw syntax("raw control character in a string");
        }
        if (c != '\\') {
          b.append(c);
          continue;
        }
        char e = pos < text.length() ? text.charAt(pos++) : 0;
        switch (e) {
          case '"', '\\', '/' -> b.append(e);
          case 'b' -> b.append('\b');
          case 'f' -> b.append('\f');
          case 'n' -> b.append('\n');
          case 'r' -> b.append('\r');
          case 't' -> b.append('\t');
          case 'u' -> {
            if (pos + 4 > text.length()) {
              throw syntax("truncated \\u escape");
            }
            try {
              b.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
            } catch (NumberFormatException ex) {
              throw syntax("bad \\u escape");
            }
            pos += 4;
          }
          default -> throw syntax("bad escape \\" + e);
        }
      }
    }

    private void word(String w) throws IOException {
      if (!text.startsWith(w, pos)) {
        throw syntax("expected " + w);
      }
      pos += w.length();
    }

    private void expect(char c) throws IOException {
      if (peek() != c) {
        throw syntax("expected '" + c + "'");
      }
      pos++;
    }

    private char peek() {
      return pos < text.length() ? text.charAt(pos) : 0;
    }

    private void space() {
      while (pos < text.length()) {
        char c = text.charAt(pos);
        if (c == '\n') {
          line++;
          lineStart = pos + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
          return;
        }
        pos++;
      }
    }

    private IOException syntax(String message) {
      return new IOException(where + ":" + line + ":" + (pos - lineStart + 1) + ": " + message);
    }
  }
}
