package io.basalt.cloudconfig;

import io.basalt.cloudconfig.Diagnostic.Severity;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Parses and validates user-data: a {@code #cloud-config} document, a {@code #!} script, or a
 * multipart MIME message carrying them, as coreos-cloudinit accepts. Stateless and thread-safe.
 */
public final class UserDataParser {

  /** The first line of a cloud-config document. */
  public static final String HEADER = "#cloud-config";

  private UserDataParser() {}

  /**
   * Parses {@code text} (metadata placeholders already substituted, if any).
   *
   * @throws NullPointerException when an argument is null
   */
  public static UserData parse(String text, ValidationOptions options) {
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(options, "options");
    if (text.startsWith("\uFEFF")) {
      text = text.substring(1);
    }
    if (text.isBlank()) {
      return new UserData(UserData.Kind.EMPTY, List.of(), CloudConfig.empty(), List.of());
    }
    String first = firstLine(text);
    if (first.startsWith("#!")) {
      return new UserData(
          UserData.Kind.SCRIPT,
          List.of(),
          CloudConfig.empty(),
          List.of(new Script("user-data", text)));
    }
    String lower = first.toLowerCase(Locale.ROOT);
    if (lower.startsWith("content-type:") || lower.startsWith("mime-version:")) {
      return parseMultipart(text, options);
    }
    List<Diagnostic> diags = new ArrayList<>();
    UserData.Kind kind = UserData.Kind.CLOUD_CONFIG;
    if (!first.stripTrailing().equals(HEADER)) {
      kind = UserData.Kind.INVALID;
      String msg;
      if (first.trim().startsWith("{")) {
        msg =
            "bad header: this looks like JSON (an Ignition config?); expected '"
                + HEADER
                + "' on the first line";
      } else {
        msg =
            "bad header: expected '"
                + HEADER
                + "' as the first line, found "
                + DocumentChecker.quote(first);
        String compact = first.trim().toLowerCase(Locale.ROOT).replace(" ", "");
        if (Suggest.distance(compact, HEADER) <= 3 || compact.startsWith(HEADER)) {
          msg += "; did you mean '" + HEADER + "'?";
        }
      }
      diags.add(new Diagnostic(Severity.ERROR, 1, 1, msg));
    }
    DocumentChecker checker = new DocumentChecker(0, "", options);
    CloudConfig config = checker.check(text);
    diags.addAll(checker.diagnostics());
    diags.sort(Diagnostic.ORDER);
    boolean errors = diags.stream().anyMatch(d -> d.severity() == Severity.ERROR);
    return new UserData(kind, diags, errors ? null : config, List.of());
  }

  private static String firstLine(String text) {
    int nl = text.indexOf('\n');
    String line = nl < 0 ? text : text.substring(0, nl);
    return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
  }

  // ------------------------------------------------------------ multipart (RFC 2046 section 5.1)

  private static UserData parseMultipart(String text, ValidationOptions options) {
    List<Diagnostic> diags = new ArrayList<>();
    String[] lines = text.split("\n", -1);
    int i = 0;
    String contentType = null;
    for (; i < lines.length; i++) {
      String l = stripCr(lines[i]);
      if (l.isEmpty()) {
        i++;
        break;
      }
      String h = headerValue(l, "content-type");
      if (h != null) {
        contentType = h;
        // Folded header continuation lines.
        while (i + 1 < lines.length
            && (lines[i + 1].startsWith(" ") || lines[i + 1].startsWith("\t"))) {
          contentType += " " + stripCr(lines[++i]).trim();
        }
      }
    }
    String boundary = contentType == null ? null : parameter(contentType, "boundary");
    if (contentType == null
        || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/")
        || boundary == null) {
      diags.add(
          new Diagnostic(
              Severity.ERROR,
              1,
              1,
              "MIME user-data must be multipart/mixed with a boundary parameter, found Content-Type "
                  + DocumentChecker.quote(contentType == null ? "(none)" : contentType)));
      return new UserData(UserData.Kind.MULTIPART, diags, null, List.of());
    }
    String delimiter = "--" + boundary;
    List<int[]> parts = new ArrayList<>(); // [firstLine, endLineExclusive]
    int start = -1;
    boolean closed = false;
    for (; i < lines.length; i++) {
      String l = stripCr(lines[i]).stripTrailing();
      if (l.equals(delimiter) || l.equals(delimiter + "--")) {
        if (start >= 0) {
          parts.add(new int[] {start, i});
        }
        if (l.endsWith("--") && !l.equals(delimiter)) {
          closed = true;
          break;
        }
        start = i + 1;
      }
    }
    if (!closed) {
      diags.add(
          new Diagnostic(
              Severity.ERROR,
              lines.length,
              1,
              "multipart user-data is missing its closing boundary "
                  + DocumentChecker.quote(delimiter + "--")));
    }
    CloudConfig config = CloudConfig.empty();
    int configs = 0;
    List<Script> scripts = new ArrayList<>();
    for (int p = 0; p < parts.size(); p++) {
      int[] range = parts.get(p);
      int j = range[0];
      String type = "text/plain";
      String encoding = "";
      for (; j < range[1]; j++) {
        String l = stripCr(lines[j]);
        if (l.isEmpty()) {
          j++;
          break;
        }
        String ct = headerValue(l, "content-type");
        if (ct != null) {
          type = ct.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        }
        String te = headerValue(l, "content-transfer-encoding");
        if (te != null) {
          encoding = te.trim().toLowerCase(Locale.ROOT);
        }
      }
      int bodyLine = j; // 0-based line index of the body's first line
      StringBuilder body = new StringBuilder();
      for (int k = j; k < range[1]; k++) {
        body.append(stripCr(lines[k]));
        if (k < range[1] - 1) {
          body.append('\n');
        }
      }
      String content = body.toString();
      int lineOffset = bodyLine;
      String where = "";
      String partName = "part " + (p + 1);
      if (encoding.equals("base64")) {
        try {
          content =
              new String(Base64.getMimeDecoder().decode(content.trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
          diags.add(
              new Diagnostic(
                  Severity.ERROR,
                  bodyLine + 1,
                  1,
                  partName + " is not valid base64: " + e.getMessage()));
          continue;
        }
        lineOffset = 0;
        where = " (in base64-encoded " + partName + ", lines counted within the part)";
      } else if (!encoding.isEmpty()
          && !encoding.equals("7bit")
          && !encoding.equals("8bit")
          && !encoding.equals("binary")) {
        diags.add(
            new Diagnostic(
                Severity.ERROR,
                range[0] + 1,
                1,
                partName
                    + ": unsupported Content-Transfer-Encoding "
                    + DocumentChecker.quote(encoding)
                    + " (expected base64, 7bit or 8bit)"));
        continue;
      }
      String first = firstLine(content);
      boolean isConfig = type.equals("text/cloud-config") || first.stripTrailing().equals(HEADER);
      boolean isScript = type.equals("text/x-shellscript") || first.startsWith("#!");
      if (isConfig) {
        configs++;
        if (configs > 1) {
          diags.add(
              new Diagnostic(
                  Severity.ERROR,
                  bodyLine + 1,
                  1,
                  partName + ": more than one cloud-config part; merge them into one document"));
          continue;
        }
        DocumentChecker checker = new DocumentChecker(lineOffset, where, options);
        CloudConfig c = checker.check(content);
        diags.addAll(checker.diagnostics());
        if (c != null) {
          config = c;
        }
      } else if (isScript) {
        if (!first.startsWith("#!")) {
          diags.add(
              new Diagnostic(
                  Severity.ERROR,
                  bodyLine + 1,
                  1,
                  partName + " is text/x-shellscript but does not start with '#!'"));
          continue;
        }
        scripts.add(new Script("part-" + (p + 1), content));
      } else {
        diags.add(
            new Diagnostic(
                Severity.WARNING,
                range[0] + 1,
                1,
                partName
                    + " of type "
                    + DocumentChecker.quote(type)
                    + " is ignored (supported: text/cloud-config, text/x-shellscript)"));
      }
    }
    diags.sort(Diagnostic.ORDER);
    boolean errors = diags.stream().anyMatch(d -> d.severity() == Severity.ERROR);
    return new UserData(
        UserData.Kind.MULTIPART, diags, errors ? null : config, errors ? List.of() : scripts);
  }

  private static String stripCr(String l) {
    return l.endsWith("\r") ? l.substring(0, l.length() - 1) : l;
  }

  private static String headerValue(String line, String name) {
    int colon = line.indexOf(':');
    if (colon < 0 || !line.substring(0, colon).trim().equalsIgnoreCase(name)) {
      return null;
    }
    return line.substring(colon + 1).trim();
  }

  private static String parameter(String header, String name) {
    for (String p : header.split(";")) {
      String t = p.trim();
      int eq = t.indexOf('=');
      if (eq > 0 && t.substring(0, eq).trim().equalsIgnoreCase(name)) {
        String v = t.substring(eq + 1).trim();
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
          v = v.substring(1, v.length() - 1);
        }
        return v.isEmpty() ? null : v;
      }
    }
    return null;
  }
}
