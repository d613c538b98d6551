package io.basalt.update.agent;

import io.basalt.signing.tuf.client.HttpFetcher;
import io.basalt.update.install.HttpRangeSource;
import io.basalt.update.install.VerityVerifier;
import io.basalt.update.strategy.LocalHold;
import io.basalt.update.strategy.RebootCoordinator;
import io.basalt.update.strategy.RebootStrategy;
import io.basalt.update.strategy.ShutdownInhibitors;
import io.basalt.update.testing.TufFixture;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Random;

/** A started agent over real HTTP and veritysetup, on a fake root, for the HTTP update ITs. */
final class HttpAgents {
  private HttpAgents() {}

  /**
   * An agent on {@code root} at {@link TufFixture#T0} + 60 s whose reboot strategy allows a reboot
   * when {@code rebootAllowed}; events and reboots ("reboot") go to {@code events}.
   */
  static UpdateAgent started(Path root, List<String> events, boolean rebootAllowed)
      throws Exception {
    AgentPaths paths = new AgentPaths(root);
    RebootStrategy strategy =
        new RebootStrategy() {
          @Override
          public String name() {
            return "test";
          }

          @Override
          public Permission acquire() {
            return rebootAllowed
                ? new Permission(true, "ok")
                : new Permission(false, "not in this test");
          }

          @Override
          public void release() {}
        };
    Clock clock = Clock.fixed(TufFixture.T0.plusSeconds(60), ZoneOffset.UTC);
    UpdateAgent a =
        new UpdateAgent(
            paths,
            clock,
            new HttpFetcher(),
            new HttpRangeSource(Duration.ofSeconds(30)),
            VerityVerifier.veritysetup(),
            c ->
                RebootCoordinator.builder()
                    .strategy(strategy)
                    .grace(Duration.ZERO)
                    .inhibitors(ShutdownInhibitors.none())
                    .sessions(List::of)
                    .rebooter(() -> events.add("reboot"))
                    .localHold(new LocalHold(paths.stateDir()))
                    .clock(clock)
                    .build(),
            events::add,
            new Random(1));
    a.start();
    return a;
  }
}
