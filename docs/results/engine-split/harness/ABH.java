import java.net.*;
import java.nio.file.*;
import java.util.*;
import java.util.function.DoubleToLongFunction;

public class ABH {
    public static void main(String[] a) throws Exception {
        String kind = a[0], op = a[1]; long mib = Long.parseLong(a[2]); int rounds = Integer.parseInt(a[3]);
        String[] jars = {a[4], a[5]};
        DoubleToLongFunction[] d = new DoubleToLongFunction[2];
        for (int i = 0; i < 2; i++) {
            URLClassLoader l = new URLClassLoader(new URL[]{Path.of("/tmp/abh/drv").toUri().toURL(), Path.of(jars[i]).toUri().toURL()},
                    ClassLoader.getPlatformClassLoader());
            d[i] = (DoubleToLongFunction) l.loadClass("Driver").getConstructor(String.class, long.class, String.class).newInstance(kind, mib, op);
        }
        for (int w = 0; w < 3; w++) for (int i = 0; i < 2; i++) d[i].applyAsLong(0.5);
        List<List<Double>> m = List.of(new ArrayList<>(), new ArrayList<>());
        for (int r = 0; r < rounds; r++) {
            for (int i0 = 0; i0 < 2; i0++) { int i = (r + i0) % 2;
                m.get(i).add(d[i].applyAsLong(0.5) / 0.5 / 1e6);
            }
        }
        List<Double> ratios = new ArrayList<>();
        for (int r = 0; r < rounds; r++) ratios.add(m.get(1).get(r) / m.get(0).get(r));
        Collections.sort(ratios);
        double[] med = new double[2];
        for (int i = 0; i < 2; i++) { List<Double> s = new ArrayList<>(m.get(i)); Collections.sort(s); med[i] = s.get(s.size() / 2); }
        System.out.printf("%s %s %d MiB: A %s median %.2f M/s, B %s median %.2f M/s; B/A per round median %.3f (quartiles %.3f-%.3f)%n",
                kind, op, mib, jars[0], med[0], jars[1], med[1], ratios.get(rounds / 2), ratios.get(rounds / 4), ratios.get(3 * rounds / 4));
        System.exit(0);
    }
}
