package io.basalt.signing.json;

import java.util.List;
import java.util.Map;

/** Typed field access on parsed JSON with errors naming the path. Stateless. */
public final class Json {
  private Json() {}

  public static Object required(Map<String, Object> m, String key, String where) {
    Object v = m.get(key);
    if (v == null) {
      throw new IllegalArgumentException(where + "." + key + ": missing");
    }
    return v;
  }

  public static String string(Map<String, Object> m, String key, String where) {
    Object v = required(m, key, where);
    if (!(v instanceof String s)) {
      throw new IllegalArgumentException(
          where + "." + key + ": expected a string, found " + CanonicalJson.typeName(v));
    }
    return s;
  }

  public static long integer(Map<String, Object> m, String key, String where) {
    Object v = required(m, key, where);
    if (!(v instanceof Long l)) {
      throw new IllegalArgumentException(
          where + "." + key + ": expected an integer, found " + CanonicalJson.typeName(v));
    }
    return l;
  }

  public static boolean bool(Map<String, Object> m, String key, String where, boolean dflt) {
    Object v = m.get(key);
    if (v == null) {
      return dflt;
    }
    if (!(v instanceof Boolean b)) {
      throw new IllegalArgumentException(
          where + "." + key + ": expected a boolean, found " + CanonicalJson.typeName(v));
    }
    return b;
  }

  @SuppressWarnings("unchecked")
  public static Map<String, Object> object(Map<String, Object> m, String key, String where) {
    return asObject(required(m, key, where), where + "." + key);
  }

  @SuppressWarnings("unchecked")
  public static Map<String, Object> asObject(Object v, String where) {
    if (!(v instanceof Map)) {
      throw new IllegalArgumentException(
          where + ": expected an object, found " + CanonicalJson.typeName(v));
    }
    return (Map<String, Object>) v;
  }

  @SuppressWarnings("unchecked")
  public static List<Object> array(Map<String, Object> m, String key, String where) {
    Object v = required(m, key, where);
    if (!(v instanceof List)) {
      throw new IllegalArgumentException(
          where + "." + key + ": expected an array, found " + CanonicalJson.typeName(v));
    }
    return (List<Object>) v;
  }
}
