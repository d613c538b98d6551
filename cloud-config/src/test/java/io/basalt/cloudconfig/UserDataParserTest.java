package io.basalt.cloudconfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UserDataParserTest {

  private static UserData parse(String s) {
    return UserDataParser.parse(s, ValidationOptions.defaultImage());
  }

  @Test
  void hyphensAndUnderscoresAreEquivalent() {
    UserData a =
        parse(
            "#cloud-config\nusers:\n  - name: a\n    no-create-home: true\n    ssh-authorized-keys: []\n"
                + "coreos:\n  etcd2:\n    listen-client-urls: http://0.0.0.0:2379\n  units:\n    - name: x.service\n"
                + "      drop-ins:\n        - name: a.conf\n          content: x\n");
    UserData b =
        parse(
            "#cloud-config\nusers:\n  - name: a\n    no_create_home: true\n    ssh_authorized_keys: []\n"
                + "coreos:\n  etcd2:\n    listen_client_urls: http://0.0.0.0:2379\n  units:\n    - name: x.service\n"
                + "      drop_ins:\n        - name: a.conf\n          content: x\n");
    assertEquals(List.of(), a.diagnostics());
    assertEquals(a.config(), b.config());
    assertTrue(a.config().users().get(0).noCreateHome());
    assertEquals(
        Map.of("ETCD_LISTEN_CLIENT_URLS", "http://0.0.0.0:2379"), a.config().coreos().etcd2());
    assertEquals("a.conf", a.config().coreos().units().get(0).dropIns().get(0).name());
  }

  @Test
  void yaml11ScalarsForStringKeysKeepTheirText() {
    UserData ud =
        parse(
            "#cloud-config\ncoreos:\n  update:\n    reboot-strategy: off\n  etcd2:\n    proxy: on\n"
                + "write_files:\n  - path: /etc/x\n    permissions: 0644\n");
    assertEquals(List.of(), ud.diagnostics());
    assertEquals("off", ud.config().coreos().update().get("REBOOT_STRATEGY"));
    assertEquals("on", ud.config().coreos().etcd2().get("ETCD_PROXY"));
    assertEquals(0644, ud.config().writeFiles().get(0).mode());
  }

  @Test
  void scriptUserData() {
    UserData ud = parse("#!/bin/bash\necho hi\n");
    assertEquals(UserData.Kind.SCRIPT, ud.kind());
    assertEquals(1, ud.scripts().size());
    assertEquals(CloudConfig.empty(), ud.config());
  }

  @Test
  void emptyUserDataIsValid() {
    UserData ud = parse("  \n");
    assertEquals(UserData.Kind.EMPTY, ud.kind());
    assertFalse(ud.hasErrors());
  }

  @Test
  void invalidConfigIsNotReturned() {
    UserData ud = parse("#cloud-config\nwrite_files:\n  - path: /usr/x\n");
    assertTrue(ud.hasErrors());
    assertNull(ud.config());
  }

  @Test
  void multipartWithConfigAndBase64Script() {
    String script = Base64.getEncoder().encodeToString("#!/bin/sh\necho part\n".getBytes());
    String mime =
        "Content-Type: multipart/mixed; boundary=\"==XX==\"\nMIME-Version: 1.0\n\n"
            + "--==XX==\nContent-Type: text/cloud-config\n\n#cloud-config\nhostname: mp\n"
            + "--==XX==\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: base64\n\n"
            + script
            + "\n"
            + "--==XX==--\n";
    UserData ud = parse(mime);
    assertEquals(List.of(), ud.diagnostics());
    assertEquals(UserData.Kind.MULTIPART, ud.kind());
    assertEquals("mp", ud.config().hostname());
    assertEquals("#!/bin/sh\necho part\n", ud.scripts().get(0).content());
  }

  @Test
  void multipartErrorsPointAtFileLines() {
    String mime =
        "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/cloud-config\n\n"
            + "#cloud-config\nhostname: [x]\n--B--\n";
    UserData ud = parse(mime);
    assertEquals(1, ud.diagnostics().size());
    assertEquals(7, ud.diagnostics().get(0).line());
    assertEquals(11, ud.diagnostics().get(0).column());
  }

  @Test
  void mergeKeysAndAnchors() {
    UserData ud =
        parse(
            "#cloud-config\ncoreos:\n  units:\n    - &base\n      name: a.service\n      command: start\n"
                + "    - <<: *base\n      name: b.service\n");
    assertEquals(List.of(), ud.diagnostics());
    assertEquals("b.service", ud.config().coreos().units().get(1).name());
    assertEquals("start", ud.config().coreos().units().get(1).command());
  }

  @Test
  void userToStringHidesPassword() {
    UserData ud = parse("#cloud-config\nusers:\n  - name: a\n    passwd: $6$abc$secretHASH\n");
    assertFalse(ud.config().users().get(0).toString().contains("secretHASH"));
  }
}
