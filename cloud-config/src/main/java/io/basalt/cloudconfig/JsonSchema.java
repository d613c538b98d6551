package io.basalt.cloudconfig;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.cloudconfig.Schema.Bool;
import io.basalt.cloudconfig.Schema.Dict;
import io.basalt.cloudconfig.Schema.Field;
import io.basalt.cloudconfig.Schema.Int;
import io.basalt.cloudconfig.Schema.Num;
import io.basalt.cloudconfig.Schema.Obj;
import io.basalt.cloudconfig.Schema.Seq;
import io.basalt.cloudconfig.Schema.Str;
import io.basalt.cloudconfig.Schema.Type;

/**
 * The JSON Schema (draft-07) of the {@code #cloud-config} format, generated from the same {@link
 * Schema} the validator uses, for YAML editors (yaml-language-server and others). Keys are listed
 * in both spellings (underscore and hyphen); deprecated keys carry {@code deprecationMessage}.
 * Stateless and thread-safe; the output is byte-for-byte stable.
 */
public final class JsonSchema {

  private static final ObjectMapper JSON = new ObjectMapper();

  private JsonSchema() {}

  /** The schema document, pretty-printed with {@code \n} line ends and a final newline. */
  public static String generate() {
    ObjectNode root = JSON.createObjectNode();
    root.put("$schema", "http://json-schema.org/draft-07/schema#");
    root.put("title", "Basalt #cloud-config");
    root.put(
        "description",
        "CoreOS-compatible cloud-config user-data for Basalt hosts. The first line of the file must be"
            + " '#cloud-config'. Generated from io.basalt.cloudconfig.Schema; keys accept '-' or '_'.");
    object(root, Schema.ROOT);
    DefaultPrettyPrinter pp = new DefaultPrettyPrinter();
    DefaultIndenter indent = new DefaultIndenter("  ", "\n");
    pp.indentObjectsWith(indent);
    pp.indentArraysWith(indent);
    try {
      return JSON.writer(pp).writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static ObjectNode type(Type t) {
    ObjectNode n = JSON.createObjectNode();
    if (t instanceof Obj o) {
      object(n, o);
    } else if (t instanceof Dict d) {
      n.put("type", "object");
      n.putObject("propertyNames").put("pattern", d.keyPattern());
      n.set("additionalProperties", type(Str.any()));
    } else if (t instanceof Seq s) {
      n.put("type", "array");
      n.set("items", type(s.element()));
    } else if (t instanceof Bool) {
      n.put("type", "boolean");
    } else if (t instanceof Int) {
      n.put("type", "integer");
    } else if (t instanceof Num) {
      n.put("type", "number");
    } else {
      Str s = (Str) t;
      if (!s.values().isEmpty()) {
        n.put("type", "string");
        ArrayNode e = n.putArray("enum");
        s.values().forEach(e::add);
      } else {
        // Like coreos-cloudinit, a string key takes any scalar's text (permissions: 0644).
        ArrayNode types = n.putArray("type");
        types.add("string").add("number").add("boolean");
        if (s.pattern() != null) {
          n.put("pattern", s.pattern().pattern());
        }
        if (s.format() != null) {
          switch (s.format()) {
            case "unit-name" ->
                n.put(
                    "pattern",
                    "^[A-Za-z0-9:_.\\\\@-]+("
                        + String.join(
                            "|", DocumentChecker.UNIT_SUFFIXES.stream().map(x -> "\\" + x).toList())
                        + ")$");
            case "dropin-name" -> n.put("pattern", "^[^/]+\\.conf$");
            case "abs-path" -> n.put("pattern", "^/");
            case "url" -> n.put("pattern", "^https?://");
            default -> {}
          }
        }
      }
    }
    return n;
  }

  private static void object(ObjectNode n, Obj o) {
    n.put("type", "object");
    ObjectNode props = n.putObject("properties");
    ArrayNode required = JSON.createArrayNode();
    ArrayNode eitherSpelling = JSON.createArrayNode();
    for (Field f : o.fields()) {
      ObjectNode p = type(f.type());
      String description = f.description() + (f.env() != null ? " (" + f.env() + ")" : "");
      if (f.deprecated() != null) {
        p.put("deprecationMessage", "Deprecated: " + f.deprecated());
        description = "Deprecated: " + f.deprecated() + ". " + description;
      }
      ObjectNode described = JSON.createObjectNode();
      described.put("description", description);
      described.setAll(p);
      props.set(f.name(), described);
      if (f.name().contains("_")) {
        ObjectNode alias = described.deepCopy();
        alias.put("description", "Same as " + f.name() + ". " + description);
        props.set(f.name().replace('_', '-'), alias);
      }
      if (f.required() && f.name().contains("_")) {
        // Either spelling of the key satisfies it.
        ArrayNode either = JSON.createArrayNode();
        either.addObject().putArray("required").add(f.name());
        either.addObject().putArray("required").add(f.name().replace('_', '-'));
        eitherSpelling.addObject().set("anyOf", either);
      } else if (f.required()) {
        required.add(f.name());
      }
    }
    if (!required.isEmpty()) {
      n.set("required", required);
    }
    if (!eitherSpelling.isEmpty()) {
      n.set("allOf", eitherSpelling);
    }
    n.put("additionalProperties", false);
  }
}
