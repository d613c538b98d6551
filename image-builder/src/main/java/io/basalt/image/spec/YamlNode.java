package io.basalt.image.spec;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML value with the line and column it started at, read with Jackson's streaming YAML parser so
 * that every error about the spec can point at the text. Immutable, thread-safe.
 */
final class YamlNode {
  enum Kind {
    MAP,
    LIST,
    STRING,
    NUMBER,
    BOOLEAN,
    NULL
  }

  final Kind kind;
  final int line;
  final int column;

  /** Scalars: the text as written (numbers and booleans too). */
  final String text;

  /** Maps: keys in document order, each with the position of the key itself. */
  final Map<String, YamlNode> map;

  final Map<String, int[]> keyPositions;
  final List<YamlNode> list;

  private YamlNode(
      Kind kind,
      int line,
      int column,
      String text,
      Map<String, YamlNode> map,
      Map<String, int[]> keyPositions,
      List<YamlNode> list) {
    this.kind = kind;
    this.line = line;
    this.column = column;
    this.text = text;
    this.map = map;
    this.keyPositions = keyPositions;
    this.list = list;
  }

  /** "a mapping", "a list", "a string"...: for error messages. */
  String describe() {
    switch (kind) {
      case MAP:
        return "a mapping";
      case LIST:
        return "a list";
      case STRING:
        return "the string \"" + text + "\"";
      case NUMBER:
        return "the number " + text;
      case BOOLEAN:
        return "the boolean " + text;
      default:
        return "nothing (null)";
    }
  }

  /**
   * Parses one YAML document.
   *
   * @throws SpecException naming {@code source}, line and column for syntax errors, duplicate keys
   *     and multiple documents
   */
  static YamlNode parse(String yaml, String source) throws SpecException {
    YAMLFactory factory = new YAMLFactory();
    try (JsonParser p = factory.createParser(yaml)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        return new YamlNode(
            Kind.MAP, 1, 1, null, Collections.emptyMap(), Collections.emptyMap(), null);
      }
      YamlNode root = read(p, source);
      JsonToken next = p.nextToken();
      if (next != null) {
        JsonLocation loc = p.currentTokenLocation();
        throw new SpecException(
            source, loc.getLineNr(), loc.getColumnNr(), "only one YAML document is allowed");
      }
      return root;
    } catch (JsonProcessingException e) {
      JsonLocation loc = e.getLocation();
      String msg = e.getOriginalMessage();
      throw new SpecException(
          source,
          loc == null ? 0 : loc.getLineNr(),
          loc == null ? 0 : loc.getColumnNr(),
          "YAML syntax: " + msg);
    } catch (IOException e) {
      throw new SpecException(source, 0, 0, "cannot read: " + e.getMessage());
    }
  }

  private static YamlNode read(JsonParser p, String source) throws IOException, SpecException {
    JsonLocation loc = p.currentTokenLocation();
    int line = loc.getLineNr();
    int col = loc.getColumnNr();
    JsonToken t = p.currentToken();
    switch (t) {
      case START_OBJECT:
        {
          Map<String, YamlNode> map = new LinkedHashMap<>();
          Map<String, int[]> keys = new LinkedHashMap<>();
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            JsonLocation kl = p.currentTokenLocation();
            String key = p.currentName();
            if (map.containsKey(key)) {
              throw new SpecException(
                  source, kl.getLineNr(), kl.getColumnNr(), "duplicate key '" + key + "'");
            }
            p.nextToken();
            map.put(key, read(p, source));
            keys.put(key, new int[] {kl.getLineNr(), kl.getColumnNr()});
          }
          return new YamlNode(
              Kind.MAP,
              line,
              col,
              null,
              Collections.unmodifiableMap(map),
              Collections.unmodifiableMap(keys),
              null);
        }
      case START_ARRAY:
        {
          List<YamlNode> list = new ArrayList<>();
          while (p.nextToken() != JsonToken.END_ARRAY) {
            list.add(read(p, source));
          }
          return new YamlNode(
              Kind.LIST, line, col, null, null, null, Collections.unmodifiableList(list));
        }
      case VALUE_STRING:
        if (p instanceof YAMLParser y && y.isCurrentAlias()) {
          // Jackson hands an alias over as its anchor's name; never read it as a value.
          throw new SpecException(
              source,
              line,
              col,
              "YAML alias '*"
                  + p.getText()
                  + "': anchors and aliases are not supported in an image spec");
        }
        return new YamlNode(Kind.STRING, line, col, p.getText(), null, null, null);
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return new YamlNode(Kind.NUMBER, line, col, p.getText(), null, null, null);
      case VALUE_TRUE:
      case VALUE_FALSE:
        return new YamlNode(Kind.BOOLEAN, line, col, p.getText(), null, null, null);
      case VALUE_NULL:
        return new YamlNode(Kind.NULL, line, col, null, null, null, null);
      default:
        throw new SpecException(source, line, col, "unsupported YAML token " + t);
    }
  }
}
