package io.basalt.cloudconfig.render;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UpdateConfTest {

  @Test
  void mergeReplacesOnlyOurKeysAndIsStable() {
    Map<String, String> wanted = new LinkedHashMap<>();
    wanted.put("GROUP", "beta");
    wanted.put("REBOOT_STRATEGY", "etcd-lock");
    String existing = "# operator\nGROUP=stable\n\nCHECK_INTERVAL=1h\nGROUP=dup\n";
    String merged = UpdateConf.merge(existing, wanted);
    assertEquals(
        "# operator\nGROUP=beta\n\nCHECK_INTERVAL=1h\nREBOOT_STRATEGY=etcd-lock\n", merged);
    assertEquals(merged, UpdateConf.merge(merged, wanted));
    assertEquals("GROUP=beta\nREBOOT_STRATEGY=etcd-lock\n", UpdateConf.merge("", wanted));
  }

  @Test
  void mergeReplacesTheOperatorsLineUnderTheOtherNameOfTheSetting() {
    Map<String, String> wanted = new LinkedHashMap<>();
    wanted.put("SERVER", "https://new.example.com");
    wanted.put("GROUP", "beta");
    wanted.put("LOCKSMITHD_ETCD_PASSWORD", "pw");
    String existing = "REPOSITORY_URL=https://old\nCHANNEL=stable\nGROUP=alpha\nETCD_PASSWORD=x\n";
    assertEquals(
        "SERVER=https://new.example.com\nGROUP=beta\nLOCKSMITHD_ETCD_PASSWORD=pw\n",
        UpdateConf.merge(existing, wanted));
  }
}
