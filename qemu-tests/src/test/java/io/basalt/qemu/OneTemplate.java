package io.basalt.qemu;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An OpenNebula template file read as OpenNebula's template reference describes it, written here
 * independently of the builder's writer so a test can take what a template says at face value:
 * {@code #} comments to the end of the line, single attributes {@code NAME = VALUE} (a
 * double-quoted string with {@code \"} and {@code \\} escapes, or a bare word), vector attributes
 * {@code NAME = [ A = "x", B = "y" ]}, names case-insensitive (kept upper case), an attribute name
 * may repeat (several {@code DISK}s). Immutable after parsing; not thread-safe while parsing.
 */
final class OneTemplate {
  /** One attribute: a single value, or the sub-attributes of a vector attribute. */
  record Attribute(String name, String value, Map<String, String> vector) {
    boolean isVector() {
      return vector != null;
    }
  }

  private final List<Attribute> attributes;
  private final String text;
  private int pos;
  private int line = 1;

  private OneTemplate(String text) throws IOException {
    this.text = text;
    List<Attribute> out = new ArrayList<>();
    while (skipBlank()) {
      String name = name();
      expect('=');
      if (skipBlank() && text.charAt(pos) == '[') {
        pos++;
        Map<String, String> v = new LinkedHashMap<>();
        while (true) {
          if (!skipBlank()) {
            throw error("unterminated vector attribute " + name);
          }
          String sub = name();
          expect('=');
          skipBlank();
          if (v.put(sub, value()) != null) {
            throw error(name + "." + sub + " given twice");
          }
          if (!skipBlank()) {
            throw error("unterminated vector attribute " + name);
          }
          char c = text.charAt(pos++);
          if (c == ']') {
            break;
          }
          if (c != ',') {
            throw error("expected ',' or ']' in " + name + ", found '" + c + "'");
          }
        }
        if (v.isEmpty()) {
          throw error(name + ": a vector attribute needs at least one value");
        }
        out.add(new Attribute(name, null, Map.copyOf(v)));
      } else {
        out.add(new Attribute(name, value(), null));
      }
    }
    this.attributes = List.copyOf(out);
  }

  /**
   * Parses template text.
   *
   * @throws IOException naming the line of the first syntax error
   */
  static OneTemplate parse(String text) throws IOException {
    return new OneTemplate(text);
  }

  List<Attribute> attributes() {
    return attributes;
  }

  /** Every attribute called {@code name}, in file order. */
  List<Attribute> all(String name) {
    return attributes.stream().filter(a -> a.name().equals(name)).toList();
  }

  /** The one single-valued attribute {@code name}. */
  String single(String name) throws IOException {
    Attribute a = one(name);
    if (a.isVector()) {
      throw new IOException(name + " is a vector attribute, expected a single value");
    }
    return a.value();
  }

  /** The one vector attribute {@code name}. */
  Map<String, String> vector(String name) throws IOException {
    Attribute a = one(name);
    if (!a.isVector()) {
      throw new IOException(name + " is a single attribute, expected a vector");
    }
    return a.vector();
  }

  private Attribute one(String name) throws IOException {
    List<Attribute> a = all(name);
    if (a.size() != 1) {
      throw new IOException("expected one " + name + " attribute, found " + a.size());
    }
    return a.get(0);
  }

  /** Skips white space and comments; false at the end of the text. */
  private boolean skipBlank() {
    while (pos < text.length()) {
      char c = text.charAt(pos);
      if (c == '#') {
        while (pos < text.length() && text.charAt(pos) != '\n') {
          pos++;
        }
      } else if (Character.isWhitespace(c)) {
        if (c == '\n') {
          line++;
        }
        pos++;
      } else {
        return true;
      }
    }
    return false;
  }

  private String name() throws IOException {
    int start = pos;
    while (pos < text.length()
        && (Character.isLetterOrDigit(text.charAt(pos)) || text.charAt(pos) == '_')) {
      pos++;
    }
    if (pos == start) {
      throw error("expected an attribute name");
    }
    return text.substring(start, pos).toUpperCase(Locale.ROOT);
  }

  private void expect(char c) throws IOException {
    skipBlank();
    if (pos >= text.length() || text.charAt(pos) != c) {
      throw error("expected '" + c + "'");
    }
    pos++;
  }

  private String value() throws IOException {
    if (pos < text.length() && text.charAt(pos) == '"') {
      pos++;
      StringBuilder b = new StringBuilder();
      while (true) {
        if (pos >= text.length()) {
          throw error("unterminated string");
        }
        char c = text.charAt(pos++);
        if (c == '"') {
          return b.toString();
        }
        if (c == '\\' && pos < text.length()) {
          c = text.charAt(pos++);
        }
        if (c == '\n') {
          line++;
        }
        b.append(c);
      }
    }
    int start = pos;
    while (pos < text.length()
        && !Character.isWhitespace(text.charAt(pos))
        && ",]#".indexOf(text.charAt(pos)) < 0) {
      pos++;
    }
    if (pos == start) {
      throw error("expected a value");
    }
    return text.substring(start, pos);
  }

  private IOException error(String what) {
    return new IOException("template line " + line + ": " + what);
  }
}
