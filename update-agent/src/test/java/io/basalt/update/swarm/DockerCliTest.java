package io.basalt.update.swarm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.basalt.host.SwarmConf;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The docker client commands, against a stand-in {@code docker} script that records its argv. */
class DockerCliTest {

  @TempDir Path dir;
  private Path argv;
  private DockerCli docker;

  @BeforeEach
  void fakeDocker() throws IOException {
    argv = dir.resolve("argv");
    Path script = dir.resolve("docker");
    Files.writeString(
        script,
        "#!/bin/sh\n"
            + "printf '%s|' \"$@\" >> '"
            + argv
            + "'\necho >> '"
            + argv
            + "'\n"
            + "case \"$1 $2\" in\n"
            + "  'info --format') echo '{\"NodeID\":\"abc\",\"LocalNodeState\":\"active\","
            + "\"ControlAvailable\":true}' ;;\n"
            + "  'swarm join-token') echo SWMTKN-1-xyz ;;\n"
            + "  'swarm join') echo \"Error response from daemon: token $4 rejected\" >&2; exit 1 ;;\n"
            + "  'swarm init') sleep 5 ;;\n"
            + "  'node ls') echo '{\"Availability\":\"Active\",\"Hostname\":\"n1\",\"ID\":\"abc\","
            + "\"ManagerStatus\":\"Leader\",\"Self\":true,\"Status\":\"Ready\"}'\n"
            + "    echo '{\"Availability\":\"Drain\",\"Hostname\":\"n2\",\"ID\":\"def\","
            + "\"ManagerStatus\":\"\",\"Self\":false,\"Status\":\"Down\"}' ;;\n"
            + "  'ps --filter') printf 'web.1.x1\\ndb.2.y2\\n' ;;\n"
            + "esac\n",
        StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    docker = new DockerCli(script.toString(), Duration.ofSeconds(2));
  }

  private List<String> calls() throws IOException {
    return Files.readAllLines(argv, StandardCharsets.UTF_8);
  }

  @Test
  void commandsAndAnswers() throws IOException {
    assertEquals(new Docker.SwarmInfo("active", "abc", true), docker.info());
    assertEquals("SWMTKN-1-xyz", docker.joinToken(SwarmConf.Role.WORKER));
    docker.addLabels("abc", new TreeMap<>(Map.of("zone", "a", "rack", "r 1")));
    docker.leave();
    assertEquals(
        List.of(
            "info|--format|{{json .Swarm}}|",
            "swarm|join-token|-q|worker|",
            "node|update|--label-add|rack=r 1|--label-add|zone=a|abc|",
            "swarm|leave|--force|"),
        calls());
  }

  @Test
  void drainCommandsAndAnswers() throws IOException {
    docker.setAvailability("abc", "drain");
    assertEquals(
        List.of(
            new Docker.Node("abc", "n1", true, "Ready", "Active", "Leader"),
            new Docker.Node("def", "n2", false, "Down", "Drain", "")),
        docker.nodes());
    assertEquals(List.of("web.1.x1", "db.2.y2"), docker.runningTasks());
    assertEquals(
        List.of(
            "node|update|--availability|drain|abc|",
            "node|ls|--format|{{json .}}|",
            "ps|--filter|label=com.docker.swarm.task.id|--format|{{.Names}}|"),
        calls());
  }

  @Test
  void aFailedJoinNeverShowsTheToken() throws IOException {
    String token = "SWMTKN-1-0123456789abcdef-secret";
    IOException e =
        assertThrows(IOException.class, () -> docker.join(token, "10.0.0.2", "10.0.0.1:2377"));
    assertEquals(
        "docker swarm join --token <token> --advertise-addr 10.0.0.2 10.0.0.1:2377 exited with 1:"
            + " Error response from daemon: token <token> rejected",
        e.getMessage());
    assertFalse(e.getMessage().contains("secret"));
    assertEquals(
        List.of("swarm|join|--token|" + token + "|--advertise-addr|10.0.0.2|10.0.0.1:2377|"),
        calls());
  }

  @Test
  void aHangingDockerIsCutOff() {
    IOException e = assertThrows(IOException.class, () -> docker.init("10.0.0.1"));
    assertEquals(
        "docker swarm init --advertise-addr 10.0.0.1: no answer within PT2S", e.getMessage());
  }
}
