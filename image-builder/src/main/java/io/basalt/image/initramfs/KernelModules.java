package io.basalt.image.initramfs;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToLongFunction;
import java.util.regex.Pattern;

/**
 * The module index of one kernel release, read from the text files depmod writes (modules.dep,
 * modules.alias, modules.softdep, modules.builtin, see depmod(8) and modules.dep(5)): resolves
 * module names or aliases to the ordered list of module files to load, dependencies first. Names
 * compare with '-' and '_' equal, as the kernel does. Immutable after parsing; thread-safe.
 */
final class KernelModules {
  /**
   * Normalised module name to its file (relative to /lib/modules/RELEASE), in modules.dep order.
   */
  private final Map<String, String> files = new LinkedHashMap<>();

  /** Module file to its dependency files. */
  private final Map<String, List<String>> deps = new LinkedHashMap<>();

  /** Alias patterns (glob) to module names, in file order. */
  private final List<Map.Entry<Pattern, String>> aliases = new ArrayList<>();

  private final Map<String, List<String>> exactAliases = new LinkedHashMap<>();

  /** Normalised module name to its "pre:" and "post:" soft dependencies. */
  private final Map<String, List<String>> softPre = new LinkedHashMap<>();

  private final Map<String, List<String>> softPost = new LinkedHashMap<>();
  private final Set<String> builtin = new LinkedHashSet<>();

  /**
   * Parses the index files; {@code alias}, {@code softdep} and {@code builtinList} may be null.
   *
   * @throws IOException naming the file and line of a malformed modules.dep entry
   */
  KernelModules(String dep, String alias, String softdep, String builtinList) throws IOException {
    int lineNo = 0;
    for (String line : dep.split("\n")) {
      lineNo++;
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw new IOException(
            "modules.dep line " + lineNo + ": expected 'module.ko: deps...', found '" + line + "'");
      }
      String file = line.substring(0, colon).trim();
      List<String> d = new ArrayList<>();
      for (String x : line.substring(colon + 1).trim().split("\\s+")) {
        if (!x.isEmpty()) {
          d.add(x);
        }
      }
      files.putIfAbsent(nameOf(file), file);
      deps.put(file, Collections.unmodifiableList(d));
    }
    if (alias != null) {
      for (String line : alias.split("\n")) {
        String[] f = line.trim().split("\\s+");
        if (f.length == 3 && f[0].equals("alias")) {
          if (f[1].indexOf('*') < 0 && f[1].indexOf('?') < 0 && f[1].indexOf('[') < 0) {
            exactAliases.computeIfAbsent(normalize(f[1]), k -> new ArrayList<>()).add(f[2]);
          } else {
            aliases.add(Map.entry(glob(f[1]), f[2]));
          }
        }
      }
    }
    if (softdep != null) {
      for (String line : softdep.split("\n")) {
        String[] f = line.trim().split("\\s+");
        if (f.length < 3 || !f[0].equals("softdep")) {
          continue;
        }
        String mod = normalize(f[1]);
        List<String> into = null;
        for (int i = 2; i < f.length; i++) {
          if (f[i].equals("pre:")) {
            into = softPre.computeIfAbsent(mod, k -> new ArrayList<>());
          } else if (f[i].equals("post:")) {
            into = softPost.computeIfAbsent(mod, k -> new ArrayList<>());
          } else if (into != null) {
            into.add(f[i]);
          }
        }
      }
    }
    if (builtinList != null) {
      for (String line : builtinList.split("\n")) {
        if (!line.isBlank()) {
          builtin.add(nameOf(line.trim()));
        }
      }
    }
  }

  /** "kernel/fs/ext4/ext4.ko.xz" to "ext4"; "dm-verity" to "dm_verity". */
  static String nameOf(String file) {
    String base = file.substring(file.lastIndexOf('/') + 1);
    int ko = base.indexOf(".ko");
    return normalize(ko >= 0 ? base.substring(0, ko) : base);
  }

  static String normalize(String name) {
    return name.replace('-', '_');
  }

  private static Pattern glob(String g) {
    StringBuilder re = new StringBuilder();
    for (char c : g.toCharArray()) {
      if (c == '*') {
        re.append(".*");
      } else if (c == '?') {
        re.append('.');
      } else if (c == '[' || c == ']') {
        re.append(c);
      } else {
        re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(re.toString());
  }

  /** True when the kernel has module {@code name} built in (modules.builtin). */
  boolean isBuiltin(String name) {
    return builtin.contains(normalize(name));
  }

  /**
   * The module files for a module name or alias: the module itself; for an alias every module
   * offering it (as modprobe tries them all: "crc32c" gives crc32c-intel and crc32c_generic, so the
   * one the CPU supports is there); empty when built in.
   *
   * @throws IOException naming the module when it is neither a module, an alias nor built in
   */
  List<String> filesFor(String nameOrAlias) throws IOException {
    String n = normalize(nameOrAlias);
    if (files.containsKey(n)) {
      return List.of(files.get(n));
    }
    if (builtin.contains(n)) {
      return List.of();
    }
    LinkedHashSet<String> targets = new LinkedHashSet<>();
    exactAliases.getOrDefault(n, List.of()).forEach(targets::add);
    for (Map.Entry<Pattern, String> a : aliases) {
      if (a.getKey().matcher(nameOrAlias).matches()) {
        targets.add(a.getValue());
      }
    }
    List<String> out = new ArrayList<>();
    boolean builtinTarget = false;
    for (String t : targets) {
      String tn = normalize(t);
      if (files.containsKey(tn)) {
        out.add(files.get(tn));
      } else if (builtin.contains(tn)) {
        builtinTarget = true;
      }
    }
    if (out.isEmpty() && !builtinTarget) {
      throw new java.nio.file.NoSuchFileException(
          nameOrAlias,
          null,
          "no such kernel module: not in modules.dep, modules.alias or modules.builtin");
    }
    return out;
  }

  /**
   * The module files to load for {@code names}, each module after everything it depends on (hard
   * dependencies from modules.dep, "pre:" soft dependencies before and "post:" ones after when they
   * resolve), no file twice. Built-in names contribute nothing.
   *
   * @throws IOException naming the first name that does not resolve
   */
  List<String> loadOrder(List<String> names) throws IOException {
    LinkedHashSet<String> out = new LinkedHashSet<>();
    for (String n : names) {
      for (String f : filesFor(n)) {
        visit(f, out, new LinkedHashSet<>());
      }
    }
    return new ArrayList<>(out);
  }

  private void visit(String file, LinkedHashSet<String> out, Set<String> stack) throws IOException {
    if (out.contains(file) || !stack.add(file)) {
      return;
    }
    String name = nameOf(file);
    for (String pre : softPre.getOrDefault(name, List.of())) {
      for (String f : optional(pre)) {
        visit(f, out, stack);
      }
    }
    List<String> d = deps.get(file);
    if (d == null) {
      throw new IOException(
          "modules.dep: " + file + " is named as a dependency but has no entry of its own");
    }
    // depmod lists dependencies so that loading them last-to-first works; visit in that order.
    for (int i = d.size() - 1; i >= 0; i--) {
      visit(d.get(i), out, stack);
    }
    out.add(file);
    stack.remove(file);
    for (String post : softPost.getOrDefault(name, List.of())) {
      for (String f : optional(post)) {
        visit(f, out, stack);
      }
    }
  }

  /**
   * The dependency files of module {@code file} as modules.dep lists them; empty when it has none.
   */
  List<String> dependencies(String file) {
    return deps.getOrDefault(file, List.of());
  }

  /**
   * Splits {@code order} (a {@link #loadOrder} result) into at most {@code groups} lists that can
   * be loaded at the same time, one loader per list: modules linked by a hard or soft dependency,
   * directly or through others, always share a list, so no list waits for a module another list
   * loads. Whole linked sets go, largest {@code cost} first, to the list with the least cost so far
   * (ties: the first such list). Each list keeps {@code order}'s order; empty lists are left out.
   */
  List<List<String>> loadGroups(List<String> order, int groups, ToLongFunction<String> cost) {
    if (groups < 1) {
      throw new IllegalArgumentException("groups must be at least 1, was " + groups);
    }
    Map<String, String> parent = new LinkedHashMap<>();
    order.forEach(f -> parent.put(f, f));
    for (String f : order) {
      List<String> linked = new ArrayList<>(dependencies(f));
      String name = nameOf(f);
      for (String soft :
          concat(softPre.getOrDefault(name, List.of()), softPost.getOrDefault(name, List.of()))) {
        linked.addAll(optional(soft));
      }
      for (String d : linked) {
        if (parent.containsKey(d)) {
          parent.put(root(parent, d), root(parent, f));
        }
      }
    }
    // Linked sets in order of their first module; each as its modules in load order.
    Map<String, List<String>> sets = new LinkedHashMap<>();
    for (String f : order) {
      sets.computeIfAbsent(root(parent, f), k -> new ArrayList<>()).add(f);
    }
    List<List<String>> bySize = new ArrayList<>(sets.values());
    bySize.sort(
        (a, b) ->
            Long.compare(
                total(b, cost), total(a, cost))); // stable: equal costs keep first-seen order
    List<Set<String>> bins = new ArrayList<>();
    long[] load = new long[groups];
    for (int i = 0; i < groups; i++) {
      bins.add(new LinkedHashSet<>());
    }
    for (List<String> set : bySize) {
      int best = 0;
      for (int i = 1; i < groups; i++) {
        if (load[i] < load[best]) {
          best = i;
        }
      }
      bins.get(best).addAll(set);
      load[best] += total(set, cost);
    }
    List<List<String>> out = new ArrayList<>();
    for (Set<String> bin : bins) {
      List<String> g = new ArrayList<>();
      for (String f : order) {
        if (bin.contains(f)) {
          g.add(f);
        }
      }
      if (!g.isEmpty()) {
        out.add(g);
      }
    }
    return out;
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  private static String root(Map<String, String> parent, String f) {
    String r = f;
    while (!parent.get(r).equals(r)) {
      r = parent.get(r);
    }
    return r;
  }

  private static long total(List<String> files, ToLongFunction<String> cost) {
    long t = 0;
    for (String f : files) {
      t += cost.applyAsLong(f);
    }
    return t;
  }

  private List<String> optional(String nameOrAlias) {
    try {
      return filesFor(nameOrAlias);
    } catch (IOException e) {
      return List.of();
    }
  }
}
