package io.basalt.cloudconfig;

import io.basalt.cloudconfig.Diagnostic.Severity;
import io.basalt.cloudconfig.Schema.Bool;
import io.basalt.cloudconfig.Schema.Dict;
import io.basalt.cloudconfig.Schema.Field;
import io.basalt.cloudconfig.Schema.Int;
import io.basalt.cloudconfig.Schema.Num;
import io.basalt.cloudconfig.Schema.Obj;
import io.basalt.cloudconfig.Schema.Seq;
import io.basalt.cloudconfig.Schema.Str;
import io.basalt.cloudconfig.Schema.Type;
import io.basalt.host.SwarmConf;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigInteger;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.comments.CommentLine;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Checks one {@code #cloud-config} YAML document against {@link Schema} and binds it to {@link
 * CloudConfig}: YAML syntax, types, values, unknown and deprecated keys, and the cross-key rules
 * (paths under /usr, undecodable content, etcd vs etcd2, services the image does not ship). One
 * instance per document; not thread-safe.
 */
final class DocumentChecker {

  private static final Pattern UNIT_NAME = Pattern.compile("^[A-Za-z0-9:_.\\\\@-]+$");
  static final List<String> UNIT_SUFFIXES =
      List.of(
          ".service",
          ".socket",
          ".device",
          ".mount",
          ".automount",
          ".swap",
          ".target",
          ".path",
          ".timer",
          ".slice",
          ".scope",
          ".network",
          ".netdev",
          ".link");
  private static final Pattern HOSTNAME =
      Pattern.compile(
          "^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?$");
  private static final Pattern ACCOUNT = Pattern.compile("^[a-z_][a-z0-9_.-]{0,31}\\$?$");
  private static final List<String> KEY_TYPES =
      List.of(
          "ssh-rsa",
          "ssh-ed25519",
          "ssh-dss",
          "ecdsa-sha2-nistp256",
          "ecdsa-sha2-nistp384",
          "ecdsa-sha2-nistp521",
          "sk-ssh-ed25519@openssh.com",
          "sk-ecdsa-sha2-nistp256@openssh.com");
  private static final Pattern FLEET_METADATA = Pattern.compile("^[^=,]+=[^=,]*(,[^=,]+=[^=,]*)*$");
  private static final Pattern WRITE_FILE_CONTENT =
      Pattern.compile("^write_files\\[\\d+\\]\\.content$");
  private static final Pattern INT_DEC = Pattern.compile("^[-+]?(0|[1-9][0-9_]*)$");
  private static final Pattern INT_OCT = Pattern.compile("^[-+]?0[0-7_]+$");
  private static final Pattern INT_HEX = Pattern.compile("^[-+]?0x[0-9a-fA-F_]+$");
  private static final Pattern INT_BIN = Pattern.compile("^[-+]?0b[0-1_]+$");

  /** Aliases to lists or mappings per document (SnakeYAML maxAliasesForCollections). */
  static final int MAX_ALIASES = 50;

  /** Nesting of lists and mappings (SnakeYAML nestingDepthLimit). */
  static final int MAX_DEPTH = 50;

  /** Characters per document (SnakeYAML codePointLimit). */
  static final int MAX_CODE_POINTS = 16 * 1024 * 1024;

  /** Nodes (scalars, lists, mappings) written in a document, before aliases are followed. */
  static final int MAX_NODES = 200_000;

  /** Values the document holds once its aliases are expanded. */
  static final int MAX_EXPANDED_NODES = 200_000;

  /** Characters of scalar text once aliases are expanded. */
  static final int MAX_EXPANDED_CHARS = MAX_CODE_POINTS;

  /** The metadata variables user-data may hold in place of an address (Metadata substitutes). */
  static final List<String> METADATA_VARIABLES =
      List.of("$private_ipv4", "$public_ipv4", "$private_ipv6", "$public_ipv6");

  private final int lineOffset;
  private final String where;
  private final ValidationOptions options;
  private final List<Diagnostic> diagnostics = new ArrayList<>();

  /** Key path to the node of its value, for cross-key checks. */
  private final Map<String, Node> values = new HashMap<>();

  /** Key path to the node of its key. */
  private final Map<String, Node> keys = new HashMap<>();

  private int expandedNodes;
  private long expandedChars;
  private boolean expansionExceeded;

  /**
   * @param lineOffset lines before this document in the file (multipart parts)
   * @param where suffix for messages of documents whose lines are not the file's (encoded parts)
   */
  DocumentChecker(int lineOffset, String where, ValidationOptions options) {
    this.lineOffset = lineOffset;
    this.where = where;
    this.options = options;
  }

  List<Diagnostic> diagnostics() {
    return diagnostics;
  }

  /** Checks {@code yamlText}; returns the bound config, or null when there are errors. */
  CloudConfig check(String yamlText) {
    LoaderOptions lo = new LoaderOptions();
    lo.setAllowDuplicateKeys(true);
    lo.setMaxAliasesForCollections(MAX_ALIASES);
    lo.setNestingDepthLimit(MAX_DEPTH);
    lo.setCodePointLimit(MAX_CODE_POINTS);
    Node root;
    try {
      // Composer alone (no org.yaml.snakeyaml.Yaml facade): nodes with marks, without loading the
      // object constructor and java.beans machinery, which only costs start-up time here.
      root =
          new BoundedComposer(
                  new ParserImpl(new StreamReader(new StringReader(yamlText)), lo),
                  new Resolver(),
                  lo)
              .getSingleNode();
    } catch (LimitException e) {
      add(Severity.ERROR, e.at, "YAML limit exceeded: " + e.getMessage());
      return null;
    } catch (MarkedYAMLException e) {
      Mark m = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
      String problem = e.getProblem() != null ? e.getProblem() : e.getMessage();
      String context = e.getContext() != null ? " (" + e.getContext() + ")" : "";
      add(Severity.ERROR, m, "YAML syntax error: " + oneLine(problem) + context);
      return null;
    } catch (YAMLException e) {
      add(Severity.ERROR, 0, 0, yamlProblem(e.getMessage()));
      return null;
    }
    if (root == null) {
      return CloudConfig.empty();
    }
    if (!(root instanceof MappingNode)) {
      add(
          Severity.ERROR,
          root.getStartMark(),
          "the document must be a mapping of keys (hostname, users, coreos, ...), found "
              + describe(root));
      return null;
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> tree = (Map<String, Object>) walk(root, Schema.ROOT, "");
    if (expansionExceeded) {
      return null;
    }
    crossChecks(tree);
    if (diagnostics.stream().anyMatch(d -> d.severity() == Severity.ERROR)) {
      return null;
    }
    return Binder.bind(tree);
  }

  // ---------------------------------------------------------------- structural walk

  private Object walk(Node node, Type type, String path) {
    if (expansionExceeded) {
      return null;
    }
    if (++expandedNodes > MAX_EXPANDED_NODES
        || (node instanceof ScalarNode sc
            && (expandedChars += sc.getValue().length()) > MAX_EXPANDED_CHARS)) {
      expansionExceeded = true;
      add(
          Severity.ERROR,
          node.getStartMark(),
          "YAML limit exceeded: with its aliases expanded the document has more than "
              + MAX_EXPANDED_NODES
              + " values or "
              + MAX_EXPANDED_CHARS
              + " characters of text (limit against alias expansion, at "
              + label(path)
              + ")");
      return null;
    }
    values.put(path, node);
    if (node instanceof ScalarNode s && s.getTag().equals(Tag.NULL)) {
      return null;
    }
    if (type instanceof Obj obj) {
      if (!(node instanceof MappingNode m)) {
        typeError(node, path, "a mapping");
        return null;
      }
      return walkObject(m, obj, path);
    }
    if (type instanceof Dict dict) {
      if (!(node instanceof MappingNode m)) {
        typeError(node, path, "a mapping");
        return null;
      }
      return walkDict(m, dict, path);
    }
    if (type instanceof Seq seq) {
      if (!(node instanceof SequenceNode sn)) {
        typeError(node, path, "a list");
        return null;
      }
      List<Object> out = new ArrayList<>();
      List<Node> items = sn.getValue();
      for (int i = 0; i < items.size(); i++) {
        Object v = walk(items.get(i), seq.element(), path + "[" + i + "]");
        if (v != null) {
          out.add(v);
        }
      }
      return out;
    }
    if (!(node instanceof ScalarNode s)) {
      typeError(node, path, expected(type));
      return null;
    }
    String text = s.getValue();
    Tag tag = s.getTag();
    if (type instanceof Bool) {
      if (!tag.equals(Tag.BOOL)) {
        typeError(node, path, "a boolean (true or false)");
        return null;
      }
      return parseBool(text);
    }
    if (type instanceof Int) {
      Long v = tag.equals(Tag.INT) ? parseInt(text) : null;
      if (v == null) {
        typeError(node, path, "an integer");
      }
      return v;
    }
    if (type instanceof Num) {
      if (tag.equals(Tag.INT)) {
        Long v = parseInt(text);
        if (v == null) {
          typeError(node, path, "a number");
        }
        return v == null ? null : Long.toString(v);
      }
      if (!tag.equals(Tag.FLOAT)) {
        typeError(node, path, "a number");
        return null;
      }
      return text;
    }
    Str str = (Str) type;
    if (tag.equals(Tag.BINARY)) {
      // YAML 1.1 !!binary: base64 of the bytes. Like Go's yaml decoder, the value is the bytes.
      byte[] bytes = binaryScalar(text, node, path);
      if (bytes == null) {
        return null;
      }
      if (WRITE_FILE_CONTENT.matcher(path).matches()) {
        return bytes; // bound as bytes; its encoding (gzip, base64) applies to them
      }
      try {
        text =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
                .toString();
      } catch (CharacterCodingException e) {
        add(
            Severity.ERROR,
            node.getStartMark(),
            "the !!binary value of "
                + path
                + " is not UTF-8 text; only write_files[].content"
                + " may hold arbitrary bytes");
        return null;
      }
    }
    // Like Go's yaml decoder, a string key takes the scalar's text as written: `reboot-strategy:
    // off`
    // stays "off" even though YAML 1.1 resolves it to a boolean.
    checkString(str, text, node, path);
    return text;
  }

  /** The bytes of a {@code !!binary} scalar, or null (error added) when it is not base64. */
  private byte[] binaryScalar(String text, Node node, String path) {
    StringBuilder b64 = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
        b64.append(c);
      }
    }
    try {
      return Base64.getDecoder().decode(b64.toString());
    } catch (IllegalArgumentException e) {
      add(
          Severity.ERROR,
          node.getStartMark(),
          path + " is tagged !!binary but is not base64: " + oneLine(e.getMessage()));
      return null;
    }
  }

  private Map<String, Object> walkObject(MappingNode m, Obj obj, String path) {
    Map<String, Object> out = new LinkedHashMap<>();
    Map<String, Node> seen = new HashMap<>();
    for (NodeTuple t : flatten(m)) {
      ScalarNode ks = newKey(t, seen, path, true);
      if (ks == null) {
        continue;
      }
      Node keyNode = ks;
      String raw = ks.getValue();
      String name = raw.replace('-', '_');
      String childPath = path.isEmpty() ? name : path + "." + name;
      Field field = obj.field(name);
      if (field == null) {
        unknownKey(ks, raw, name, obj, path);
        continue;
      }
      keys.put(childPath, keyNode);
      if (field.deprecated() != null) {
        add(
            Severity.WARNING,
            keyNode.getStartMark(),
            "deprecated key '" + childPath + "': " + field.deprecated());
      }
      Node valueNode = t.getValueNode();
      if (field.required() && valueNode instanceof ScalarNode vs && vs.getTag().equals(Tag.NULL)) {
        add(
            Severity.ERROR,
            valueNode.getStartMark(),
            "empty value for required key '" + childPath + "'");
      }
      Object v = walk(valueNode, field.type(), childPath);
      if (v != null) {
        out.put(name, v);
      }
    }
    for (Field f : obj.fields()) {
      if (f.required() && !out.containsKey(f.name()) && !seen.containsKey(f.name())) {
        add(
            Severity.ERROR,
            m.getStartMark(),
            "missing required key '" + f.name() + "' in " + label(path));
      }
    }
    return out;
  }

  /**
   * The key of {@code t} when it is a plain string not seen before in this mapping (recorded in
   * {@code seen} under its name: {@code -} read as {@code _} when {@code normalise}); null, with an
   * error, for any other key.
   */
  private ScalarNode newKey(NodeTuple t, Map<String, Node> seen, String path, boolean normalise) {
    Node keyNode = t.getKeyNode();
    if (!(keyNode instanceof ScalarNode ks)) {
      add(Severity.ERROR, keyNode.getStartMark(), "keys must be plain strings in " + label(path));
      return null;
    }
    String name = normalise ? ks.getValue().replace('-', '_') : ks.getValue();
    Node previous = seen.put(name, keyNode);
    if (previous != null) {
      add(
          Severity.ERROR,
          keyNode.getStartMark(),
          "duplicate key '"
              + (path.isEmpty() ? name : path + "." + name)
              + "' (first at line "
              + (previous.getStartMark().getLine() + 1 + lineOffset)
              + ")");
      return null;
    }
    return ks;
  }

  /** A mapping of free-form keys to strings: keys as written, checked with their values. */
  private Map<String, Object> walkDict(MappingNode m, Dict dict, String path) {
    Map<String, Object> out = new LinkedHashMap<>();
    Map<String, Node> seen = new HashMap<>();
    for (NodeTuple t : flatten(m)) {
      ScalarNode ks = newKey(t, seen, path, false);
      if (ks == null) {
        continue;
      }
      String key = ks.getValue();
      String childPath = path + "." + key;
      Object v = walk(t.getValueNode(), Str.any(), childPath);
      String value = v == null ? "" : v.toString();
      if (!(t.getValueNode() instanceof ScalarNode)) {
        continue; // wrong type, reported by walk
      }
      checkFormat(dict.keyFormat(), key + "=" + value, ks, childPath);
      out.put(key, value);
    }
    return out;
  }

  /**
   * Resolves YAML merge keys ({@code <<: *anchor}): explicit keys win over merged ones, earlier
   * merged ones over later. Each mapping is merged at most once (merging it again adds nothing), so
   * a chain of merges costs no more than the mappings it names.
   */
  private static List<NodeTuple> flatten(MappingNode m) {
    boolean hasMerge = false;
    for (NodeTuple t : m.getValue()) {
      if (t.getKeyNode().getTag().equals(Tag.MERGE)) {
        hasMerge = true;
        break;
      }
    }
    if (!hasMerge) {
      return m.getValue();
    }
    List<NodeTuple> explicit = new ArrayList<>();
    List<NodeTuple> merged = new ArrayList<>();
    Set<Node> visited = Collections.newSetFromMap(new IdentityHashMap<>());
    visited.add(m);
    collectMerged(m, explicit, merged, visited);
    Set<String> taken = new HashSet<>();
    for (NodeTuple t : explicit) {
      if (t.getKeyNode() instanceof ScalarNode s) {
        taken.add(s.getValue());
      }
    }
    List<NodeTuple> out = new ArrayList<>(explicit);
    for (NodeTuple t : merged) {
      if (!(t.getKeyNode() instanceof ScalarNode s) || taken.add(s.getValue())) {
        out.add(t);
      }
    }
    return out;
  }

  /**
   * Adds {@code m}'s own tuples to {@code explicit} and, depth first, those of the mappings it
   * merges to {@code merged}, each mapping once.
   */
  private static void collectMerged(
      MappingNode m, List<NodeTuple> explicit, List<NodeTuple> merged, Set<Node> visited) {
    List<MappingNode> sources = new ArrayList<>();
    for (NodeTuple t : m.getValue()) {
      if (t.getKeyNode().getTag().equals(Tag.MERGE)) {
        Node v = t.getValueNode();
        for (Node src : v instanceof SequenceNode s ? s.getValue() : List.of(v)) {
          if (src instanceof MappingNode sm && visited.add(sm)) {
            sources.add(sm);
          }
        }
      } else {
        explicit.add(t);
      }
    }
    for (MappingNode sm : sources) {
      List<NodeTuple> own = new ArrayList<>();
      List<NodeTuple> below = new ArrayList<>();
      collectMerged(sm, own, below, visited);
      merged.addAll(own);
      merged.addAll(below);
    }
  }

  private void unknownKey(ScalarNode keyNode, String raw, String name, Obj obj, String path) {
    String where = label(path);
    String msg = "unknown key '" + raw + "' in " + where;
    String suggestion = Suggest.closest(name, Schema.names(obj));
    if (suggestion != null) {
      msg += "; did you mean '" + suggestion + "'?";
    } else if (obj == Schema.ROOT && Schema.COREOS.field(name) != null) {
      msg += "; did you mean 'coreos." + name + "'? (it belongs under coreos:)";
    } else if (obj == Schema.COREOS && Schema.ROOT.field(name) != null) {
      msg += "; '" + name + "' is a top-level key, not part of coreos:";
    } else if (obj == Schema.ROOT
        && List.of(
                "runcmd",
                "bootcmd",
                "packages",
                "package_update",
                "apt",
                "yum_repos",
                "chpasswd",
                "ssh_pwauth",
                "final_message",
                "timezone",
                "ntp")
            .contains(name)) {
      msg += " (a cloud-init key; the CoreOS #cloud-config format does not have it, it is ignored)";
    }
    if (obj.closed()) {
      msg += " (expected one of " + String.join(", ", Schema.names(obj)) + ")";
    }
    add(obj.closed() ? Severity.ERROR : Severity.WARNING, keyNode.getStartMark(), msg);
  }

  // ---------------------------------------------------------------- values

  private void checkString(Str str, String text, Node node, String path) {
    if (str.pattern() != null && !str.pattern().matcher(text).matches()) {
      add(
          Severity.ERROR,
          node.getStartMark(),
          "invalid value " + quote(text) + " for " + path + ": expected " + str.patternHint());
    }
    if (!str.values().isEmpty() && !str.values().contains(text)) {
      String msg =
          "invalid value "
              + quote(text)
              + " for "
              + path
              + ": expected one of "
              + String.join(", ", str.values());
      String s = Suggest.closest(text, str.values());
      if (s != null) {
        msg += "; did you mean '" + s + "'?";
      }
      add(Severity.ERROR, node.getStartMark(), msg);
    }
    if (str.format() != null) {
      checkFormat(str.format(), text, node, path);
    }
  }

  private void checkFormat(String format, String text, Node node, String path) {
    Mark at = node.getStartMark();
    switch (format) {
      case "url" -> {
        String err = urlProblem(text.trim());
        if (err != null) {
          add(Severity.ERROR, at, "invalid URL " + quote(text) + " for " + path + ": " + err);
        }
      }
      case "url-list" -> {
        for (String u : text.split(",", -1)) {
          String err = urlProblem(u.trim());
          if (err != null) {
            add(Severity.ERROR, at, "invalid URL " + quote(u.trim()) + " in " + path + ": " + err);
            break;
          }
        }
      }
      case "unit-name" -> {
        String suffix = null;
        for (String sfx : UNIT_SUFFIXES) {
          if (text.endsWith(sfx)) {
            suffix = sfx;
            break;
          }
        }
        if (suffix == null) {
          int dot = text.lastIndexOf('.');
          String found = dot < 0 ? "no suffix" : "suffix '" + text.substring(dot) + "'";
          String msg =
              "invalid unit name "
                  + quote(text)
                  + " for "
                  + path
                  + ": expected a unit type suffix ("
                  + String.join(", ", UNIT_SUFFIXES)
                  + "), found "
                  + found;
          if (dot >= 0) {
            String s = Suggest.closest(text.substring(dot), UNIT_SUFFIXES);
            if (s != null) {
              msg += "; did you mean '" + text.substring(0, dot) + s + "'?";
            }
          }
          add(Severity.ERROR, at, msg);
        } else if (!UNIT_NAME.matcher(text).matches()
            || text.length() == suffix.length()
            || text.length() > 255) {
          add(
              Severity.ERROR,
              at,
              "invalid unit name "
                  + quote(text)
                  + " for "
                  + path
                  + ": only letters, digits and :_.\\@- are allowed, before the suffix");
        }
      }
      case "dropin-name" -> {
        if (!text.endsWith(".conf") || text.contains("/") || text.length() <= 5) {
          add(
              Severity.ERROR,
              at,
              "invalid drop-in name "
                  + quote(text)
                  + " for "
                  + path
                  + ": expected a file name ending in .conf (systemd ignores other drop-ins)");
        }
      }
      case "abs-path" -> {
        if (!text.startsWith("/") || text.indexOf('\0') >= 0) {
          add(
              Severity.ERROR,
              at,
              "invalid path " + quote(text) + " for " + path + ": expected an absolute path");
        }
      }
      case "hostname" -> {
        if (!isHostname(text)) {
          add(
              Severity.ERROR,
              at,
              "invalid hostname "
                  + quote(text)
                  + ": expected letters, digits and '-' in dot-separated labels of at most 63 characters");
        }
      }
      case "user-name", "group-name" -> {
        if (!ACCOUNT.matcher(text).matches()) {
          add(
              Severity.ERROR,
              at,
              "invalid "
                  + (format.equals("user-name") ? "user" : "group")
                  + " name "
                  + quote(text)
                  + " for "
                  + path
                  + ": expected lower-case letters, digits, '_', '-' or '.', at most 32 characters, "
                  + "not starting with a digit or '-'");
        }
      }
      case "password-hash" -> {
        // Never echo the value: it is a secret.
        if (!(text.startsWith("$") || text.equals("*") || text.startsWith("!"))) {
          add(
              Severity.WARNING,
              at,
              path
                  + " does not look like a crypt(3) hash (e.g. $6$...): it is written to"
                  + " /etc/shadow as is, so a clear-text password will not let anyone log in");
        }
      }
      case "ssh-key" -> {
        if (!looksLikeSshKey(text)) {
          // Never echo the value: keys stay out of logs.
          add(
              Severity.ERROR,
              at,
              path
                  + " is not an SSH public key: expected '<type> <base64> [comment]' with type one of "
                  + String.join(", ", KEY_TYPES.subList(0, 6)));
        }
      }
      case "fleet-metadata" -> {
        if (!FLEET_METADATA.matcher(text).matches()) {
          add(
              Severity.ERROR,
              at,
              "invalid value "
                  + quote(text)
                  + " for "
                  + path
                  + ": expected key=value[,key=value...]");
        }
      }
      case "ip-address" -> {
        if (!METADATA_VARIABLES.contains(text)
            && SwarmConf.problem(SwarmConf.ADVERTISE_ADDR, text).isPresent()) {
          add(
              Severity.ERROR,
              at,
              "invalid address "
                  + quote(text)
                  + " for "
                  + path
                  + ": expected an IPv4 or IPv6 address (no host name, no port) or one of "
                  + String.join(", ", METADATA_VARIABLES));
        }
      }
      case "swarm-cluster" ->
          SwarmConf.problem(SwarmConf.CLUSTER, text)
              .ifPresent(p -> add(Severity.ERROR, at, "invalid value for " + path + ": " + p));
      case "swarm-label" ->
          SwarmConf.problem(SwarmConf.LABEL, text)
              .ifPresent(p -> add(Severity.ERROR, at, "invalid label " + path + ": " + p));
      default -> throw new IllegalStateException("unknown format " + format);
    }
  }

  /** Whether {@code text} is an RFC 1123 host name (labels of letters, digits and '-'). */
  static boolean isHostname(String text) {
    return HOSTNAME.matcher(text).matches() && text.split("\\.", -1)[0].length() <= 63;
  }

  static boolean looksLikeSshKey(String text) {
    String[] tokens = text.trim().split("\\s+");
    for (int i = 0; i < tokens.length - 1; i++) {
      if (KEY_TYPES.contains(tokens[i])) {
        String b64 = tokens[i + 1];
        return b64.length() >= 16 && b64.matches("[A-Za-z0-9+/]+={0,2}");
      }
    }
    return false;
  }

  /**
   * Why {@code url} is not an http(s) URL, or null when it is. Metadata placeholders are accepted.
   */
  static String urlProblem(String url) {
    String u =
        url.replace("$public_ipv4", "192.0.2.1")
            .replace("$private_ipv4", "192.0.2.1")
            .replace("$public_ipv6", "[2001:db8::1]")
            .replace("$private_ipv6", "[2001:db8::1]");
    if (u.isEmpty()) {
      return "empty";
    }
    if (!u.contains("://")) {
      return "missing scheme (expected http:// or https://)";
    }
    try {
      URI uri = new URI(u);
      String scheme = uri.getScheme();
      if (scheme == null) {
        return "missing scheme (expected http:// or https://)";
      }
      scheme = scheme.toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https")) {
        return "unsupported scheme '" + scheme + "' (expected http or https)";
      }
      if (uri.getHost() == null) {
        return "missing or invalid host";
      }
      return null;
    } catch (URISyntaxException e) {
      return e.getReason();
    }
  }

  // ---------------------------------------------------------------- cross-key rules

  @SuppressWarnings("unchecked")
  private void crossChecks(Map<String, Object> tree) {
    List<Object> files = (List<Object>) tree.getOrDefault("write_files", List.of());
    for (int i = 0; i < files.size(); i++) {
      Map<String, Object> f = (Map<String, Object>) files.get(i);
      String p = "write_files[" + i + "]";
      Object path = f.get("path");
      if (path instanceof String s && s.startsWith("/") && underUsr(s)) {
        add(
            Severity.ERROR,
            markOf(values, p + ".path"),
            "write_files["
                + i
                + "].path "
                + quote(s)
                + " is under /usr, which is read-only on Basalt (dm-verity); use /etc or /opt");
      }
      Object enc = f.get("encoding");
      Object content = f.get("content");
      boolean binary = content instanceof byte[];
      String c =
          binary
              ? new String((byte[]) content, StandardCharsets.ISO_8859_1)
              : content instanceof String str ? str : null;
      if (c != null && (enc == null || Schema.ENCODINGS.contains(enc))) {
        try {
          CloudConfig.WriteFile.decode(c, (String) enc, binary);
        } catch (IOException e) {
          add(
              Severity.ERROR,
              markOf(values, p + ".content"),
              "cannot decode "
                  + p
                  + ".content as "
                  + enc
                  + ": "
                  + e.getMessage().replaceFirst("^content is ", "it is "));
        }
      }
    }
    Map<String, Object> coreos = (Map<String, Object>) tree.getOrDefault("coreos", Map.of());
    if (coreos.containsKey("etcd") && coreos.containsKey("etcd2")) {
      add(
          Severity.ERROR,
          markOf(keys, "coreos.etcd"),
          "coreos.etcd and coreos.etcd2 both configure etcd.service; keep only coreos.etcd2");
    }
    for (String[] svc :
        new String[][] {
          {"fleet", "fleet.service", "Docker Swarm services", "fleet -> Swarm services"},
          {"flannel", "flanneld.service", "a Docker Swarm overlay network", FLANNEL_SECTION}
        }) {
      if (coreos.containsKey(svc[0]) && !options.imageShipsUnit(svc[1])) {
        add(
            Severity.WARNING,
            markOf(keys, "coreos." + svc[0]),
            "coreos."
                + svc[0]
                + ": the image does not ship "
                + svc[1]
                + "; use "
                + svc[2]
                + " instead ("
                + COMING_FROM_COREOS
                + ", section \""
                + svc[3]
                + "\"); the drop-in is written as CoreOS did but nothing will read it");
      }
    }
    etcd2Checks(tree, (Map<String, Object>) coreos.getOrDefault("etcd2", Map.of()));
    Map<String, Object> update = (Map<String, Object>) coreos.getOrDefault("update", Map.of());
    if ("best-effort".equals(update.get("reboot_strategy"))) {
      add(
          Severity.WARNING,
          markOf(values, "coreos.update.reboot_strategy"),
          "deprecated value 'best-effort' for coreos.update.reboot_strategy: Basalt uses etcd-lock when"
              + " coreos.locksmith.endpoint or coreos.etcd2 is set, otherwise reboot; say which you mean");
    }
    List<Object> units = (List<Object>) coreos.getOrDefault("units", List.of());
    Map<String, Integer> unitIndex = new HashMap<>();
    for (int i = 0; i < units.size(); i++) {
      Map<String, Object> u = (Map<String, Object>) units.get(i);
      String p = "coreos.units[" + i + "]";
      Object name = u.get("name");
      if (name instanceof String n) {
        Integer first = unitIndex.putIfAbsent(n, i);
        if (first != null) {
          add(
              Severity.WARNING,
              markOf(values, p + ".name"),
              "unit "
                  + quote(n)
                  + " is listed twice (also coreos.units["
                  + first
                  + "]); both entries are applied in order");
        }
        if (n.endsWith(".network") || n.endsWith(".netdev") || n.endsWith(".link")) {
          if (u.containsKey("command") || Boolean.TRUE.equals(u.get("enable"))) {
            add(
                Severity.WARNING,
                markOf(values, p + ".name"),
                p
                    + " is a systemd-networkd unit: its command"
                    + " and enable are not used; systemd-networkd is restarted instead");
          }
        }
        if (Boolean.TRUE.equals(u.get("mask"))
            && (Boolean.TRUE.equals(u.get("enable")) || u.containsKey("content"))) {
          add(
              Severity.WARNING,
              markOf(values, p + ".name"),
              p + " is masked: its content and enable have no effect");
        }
      }
      List<Object> drops = (List<Object>) u.getOrDefault("drop_ins", List.of());
      Map<String, Integer> dropIndex = new HashMap<>();
      for (int j = 0; j < drops.size(); j++) {
        Object dn = ((Map<String, Object>) drops.get(j)).get("name");
        if (dn instanceof String s && dropIndex.putIfAbsent(s, j) != null) {
          add(
              Severity.ERROR,
              markOf(values, p + ".drop_ins[" + j + "].name"),
              "drop-in " + quote(s) + " is listed twice in " + p);
        }
      }
    }
  }

  /**
   * Where the node at {@code path} starts, or null (line 1) when the walk did not keep it: a list
   * skips elements that are empty or of the wrong type, so later indices of the bound tree can be
   * off from the document's.
   */
  private static Mark markOf(Map<String, Node> nodes, String path) {
    Node n = nodes.get(path);
    return n == null ? null : n.getStartMark();
  }

  /** The page that maps CoreOS's fleet and flannel to what Basalt runs instead. */
  static final String COMING_FROM_COREOS = "docs/coming-from-coreos.md";

  static final String FLANNEL_SECTION = "flannel -> overlay networks";

  /** The etcd2 keys naming a TLS file etcd reads at start. */
  private static final List<String> ETCD2_TLS_FILES =
      List.of(
          "cert_file",
          "key_file",
          "trusted_ca_file",
          "ca_file",
          "peer_cert_file",
          "peer_key_file",
          "peer_trusted_ca_file",
          "peer_ca_file");

  /** Directories on tmpfs: data there is gone at the next boot. */
  private static final List<String> TMPFS_DIRS = List.of("run", "tmp", "dev", "proc", "sys");

  /**
   * coreos.etcd2's files: TLS files must exist when etcd starts (written by write_files, or the
   * image's and operator's /etc/ssl), and the data must stay on ROOT.
   */
  @SuppressWarnings("unchecked")
  private void etcd2Checks(Map<String, Object> tree, Map<String, Object> etcd2) {
    Set<String> written = new HashSet<>();
    for (Object f : (List<Object>) tree.getOrDefault("write_files", List.of())) {
      if (((Map<String, Object>) f).get("path") instanceof String p) {
        written.add(normalise(p));
      }
    }
    for (String key : ETCD2_TLS_FILES) {
      if (!(etcd2.get(key) instanceof String file) || file.isEmpty()) {
        continue;
      }
      String n = normalise(file);
      if (!file.startsWith("/")) {
        add(
            Severity.WARNING,
            markOf(values, "coreos.etcd2." + key),
            "coreos.etcd2."
                + key
                + " "
                + quote(file)
                + " is not an absolute path: etcd resolves it against its working directory");
      } else if (!written.contains(n) && !n.startsWith("/etc/ssl/")) {
        add(
            Severity.WARNING,
            markOf(values, "coreos.etcd2." + key),
            "coreos.etcd2."
                + key
                + " "
                + quote(file)
                + " is neither written by write_files nor under /etc/ssl: etcd will not start"
                + " unless the file is put there another way");
      }
    }
    for (String key : List.of("data_dir", "wal_dir")) {
      if (!(etcd2.get(key) instanceof String dir) || !dir.startsWith("/")) {
        continue;
      }
      String n = normalise(dir);
      String top = n.length() > 1 ? n.substring(1).split("/", 2)[0] : "";
      Mark at = markOf(values, "coreos.etcd2." + key);
      if (underUsr(dir)) {
        add(
            Severity.ERROR,
            at,
            "coreos.etcd2."
                + key
                + " "
                + quote(dir)
                + " is under /usr, which is read-only on Basalt (dm-verity); leave it out"
                + " (etcd keeps its data in /var/lib/etcd on ROOT)");
      } else if (TMPFS_DIRS.contains(top)) {
        add(
            Severity.WARNING,
            at,
            "coreos.etcd2."
                + key
                + " "
                + quote(dir)
                + " is on a tmpfs: the member loses its data at every boot; leave it out"
                + " (etcd keeps its data in /var/lib/etcd on ROOT)");
      }
    }
  }

  /** {@code path} with {@code .}, {@code ..} and repeated slashes resolved ("/" when empty). */
  private static String normalise(String path) {
    List<String> parts = new ArrayList<>();
    for (String seg : path.split("/")) {
      if (seg.isEmpty() || seg.equals(".")) {
        continue;
      }
      if (seg.equals("..")) {
        if (!parts.isEmpty()) {
          parts.remove(parts.size() - 1);
        }
      } else {
        parts.add(seg);
      }
    }
    return "/" + String.join("/", parts);
  }

  private static boolean underUsr(String path) {
    String n = normalise(path);
    return n.equals("/usr") || n.startsWith("/usr/");
  }

  // ---------------------------------------------------------------- helpers

  static Boolean parseBool(String text) {
    return switch (text.toLowerCase(Locale.ROOT)) {
      case "true", "yes", "on", "y" -> Boolean.TRUE;
      default -> Boolean.FALSE;
    };
  }

  /** A YAML 1.1 integer as Go's yaml decoder reads it, or null when it does not fit 64 bits. */
  static Long parseInt(String text) {
    String t = text.replace("_", "");
    try {
      BigInteger v;
      if (INT_HEX.matcher(text).matches()) {
        v = new BigInteger(t.replaceFirst("0x", ""), 16);
      } else if (INT_BIN.matcher(text).matches()) {
        v = new BigInteger(t.replaceFirst("0b", ""), 2);
      } else if (INT_OCT.matcher(text).matches()) {
        v = new BigInteger(t, 8);
      } else if (INT_DEC.matcher(text).matches()) {
        v = new BigInteger(t);
      } else {
        return null;
      }
      return v.bitLength() < 64 ? v.longValue() : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private void typeError(Node node, String path, String expected) {
    String found = describe(node);
    if (isSecret(path) && node instanceof ScalarNode) {
      found = "a scalar (value not shown: it may be a secret)";
    }
    add(
        Severity.ERROR,
        node.getStartMark(),
        "wrong type for " + label(path) + ": expected " + expected + ", found " + found);
  }

  /** Keys whose values never appear in messages (password hashes, keys, passwords). */
  static boolean isSecret(String path) {
    return path.contains("passwd")
        || path.contains("ssh_authorized_keys")
        || path.contains("password");
  }

  private static String expected(Type type) {
    if (type instanceof Bool) {
      return "a boolean (true or false)";
    }
    if (type instanceof Int) {
      return "an integer";
    }
    if (type instanceof Num) {
      return "a number";
    }
    return "a string";
  }

  private static String describe(Node node) {
    if (node instanceof MappingNode) {
      return "a mapping";
    }
    if (node instanceof SequenceNode) {
      return "a list";
    }
    ScalarNode s = (ScalarNode) node;
    Tag t = s.getTag();
    String kind =
        t.equals(Tag.BOOL)
            ? "the boolean "
            : t.equals(Tag.INT)
                ? "the integer "
                : t.equals(Tag.FLOAT) ? "the number " : "the string ";
    return kind + quote(s.getValue());
  }

  private static String label(String path) {
    return path.isEmpty() ? "the top level" : path;
  }

  static String quote(String value) {
    String v = value.length() > 60 ? value.substring(0, 57) + "..." : value;
    return "'" + oneLine(v) + "'";
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t");
  }

  private void add(Severity severity, Mark mark, String message) {
    add(severity, mark == null ? 0 : mark.getLine(), mark == null ? 0 : mark.getColumn(), message);
  }

  private void add(Severity severity, int line0, int column0, String message) {
    diagnostics.add(new Diagnostic(severity, line0 + 1 + lineOffset, column0 + 1, message + where));
  }

  private static final Pattern SNAKE_ALIASES =
      Pattern.compile("^Number of aliases for non-scalar nodes exceeds the specified max=(\\d+)$");
  private static final Pattern SNAKE_DEPTH = Pattern.compile("^Nesting Depth exceeded max (\\d+)$");
  private static final Pattern SNAKE_CODE_POINTS =
      Pattern.compile("^The incoming YAML document exceeds the limit: (\\d+) code points\\.?$");

  /** The message for a SnakeYAML exception without a position; its own limits said plainly. */
  static String yamlProblem(String message) {
    String m = message == null ? "" : message.trim();
    java.util.regex.Matcher x = SNAKE_ALIASES.matcher(m);
    if (x.matches()) {
      return "YAML limit exceeded: more than "
          + x.group(1)
          + " aliases to lists or mappings (limit against alias expansion, \"billion laughs\")";
    }
    x = SNAKE_DEPTH.matcher(m);
    if (x.matches()) {
      return "YAML limit exceeded: lists and mappings nested more than "
          + x.group(1)
          + " levels deep (limit)";
    }
    x = SNAKE_CODE_POINTS.matcher(m);
    if (x.matches()) {
      return "YAML limit exceeded: the document is longer than "
          + x.group(1)
          + " characters (limit)";
    }
    return "YAML syntax error: " + oneLine(m);
  }

  /** A document over one of Basalt's own YAML limits, found while composing. */
  private static final class LimitException extends YAMLException {
    private static final long serialVersionUID = 1L;

    @SuppressWarnings("serial")
    final transient Mark at;

    LimitException(String message, Mark at) {
      super(message);
      this.at = at;
    }
  }

  /** A SnakeYAML composer that refuses documents of more than {@link #MAX_NODES} nodes. */
  private static final class BoundedComposer extends Composer {
    private int nodes;

    BoundedComposer(ParserImpl parser, Resolver resolver, LoaderOptions options) {
      super(parser, resolver, options);
    }

    private void count() {
      if (++nodes > MAX_NODES) {
        throw new LimitException(
            "the document has more than " + MAX_NODES + " values (limit)",
            parser.peekEvent().getStartMark());
      }
    }

    @Override
    protected Node composeScalarNode(String anchor, List<CommentLine> blockComments) {
      count();
      return super.composeScalarNode(anchor, blockComments);
    }

    @Override
    protected Node composeSequenceNode(String anchor) {
      count();
      return super.composeSequenceNode(anchor);
    }

    @Override
    protected Node composeMappingNode(String anchor) {
      count();
      return super.composeMappingNode(anchor);
    }
  }
}
