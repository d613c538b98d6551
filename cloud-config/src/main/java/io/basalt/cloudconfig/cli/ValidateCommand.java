package io.basalt.cloudconfig.cli;

import io.basalt.cloudconfig.Diagnostic;
import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code basalt cloud-config validate FILE...}: prints {@code FILE:LINE:COL: error|warning:
 * message} per finding. Exit 0 when every file is valid (warnings allowed), 1 when one has errors,
 * 2 on usage errors or unreadable files. Not thread-safe.
 */
@Command(
    name = "validate",
    mixinStandardHelpOptions = true,
    description = "Check #cloud-config user-data; prints FILE:LINE:COL: error|warning: message.",
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:valid (warnings allowed)", "1:invalid", "2:usage error or unreadable file"})
final class ValidateCommand implements Callable<Integer> {

  static final int VALID = 0;
  static final int INVALID = 1;
  static final int USAGE = 2;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Set by {@link CloudConfigMain}'s fast path instead of {@link #spec}. */
  PrintWriter out;

  PrintWriter err;

  @Parameters(arity = "1..*", paramLabel = "FILE", description = "User-data files to check.")
  List<Path> files;

  @Option(
      names = "--image-root",
      paramLabel = "DIR",
      description =
          "Root of the image the config is for (to know which units it ships); default: Basalt's default image.")
  Path imageRoot;

  @Option(
      names = {"-q", "--quiet"},
      description = "Print errors only, no warnings.")
  boolean quiet;

  @Override
  public Integer call() {
    PrintWriter out = this.out != null ? this.out : spec.commandLine().getOut();
    PrintWriter err = this.err != null ? this.err : spec.commandLine().getErr();
    ValidationOptions options =
        imageRoot == null ? ValidationOptions.defaultImage() : ValidationOptions.forRoot(imageRoot);
    int result = VALID;
    for (Path file : files) {
      String text;
      try {
        text = readUtf8(file);
      } catch (CharacterCodingException e) {
        out.println(file + ":1:1: error: the file is not valid UTF-8 text");
        result = Math.max(result, INVALID);
        continue;
      } catch (IOException e) {
        err.println(file + ": error: cannot read: " + e);
        result = USAGE;
        continue;
      }
      UserData ud = UserDataParser.parse(text, options);
      for (Diagnostic d : ud.diagnostics()) {
        if (!quiet || d.severity() == Diagnostic.Severity.ERROR) {
          out.println(d.format(file.toString()));
        }
      }
      if (ud.hasErrors()) {
        result = Math.max(result, INVALID);
      }
    }
    out.flush();
    return result;
  }

  static String readUtf8(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    return StandardCharsets.UTF_8
        .newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(bytes))
        .toString();
  }
}
