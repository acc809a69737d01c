import java.net.*;
import java.nio.file.*;
import java.util.*;
import java.util.function.DoubleUnaryOperator;

/** ABH mib rounds jarA propsA opA jarB propsB opB: alternating slices of two builds or configurations in one JVM; props: k=v,k=v or - */
public class ABH {
    public static void main(String[] a) throws Exception {
        long mib = Long.parseLong(a[0]); int rounds = Integer.parseInt(a[1]);
        String[] jars = {a[2], a[5]}, props = {a[3], a[6]}, ops = {a[4], a[7]}; String op = ops[0] + "/" + ops[1];
        double slice = Double.parseDouble(System.getProperty("abh.slice", "0.5"));
        DoubleUnaryOperator[] d = new DoubleUnaryOperator[2];
        for (int i = 0; i < 2; i++) {
            if (!props[i].equals("-")) for (String kv : props[i].split(",")) { String[] p = kv.split("="); System.setProperty(p[0], p[1]); }
            URLClassLoader l = new URLClassLoader(new URL[]{Path.of(System.getProperty("abh.drv", "drv")).toUri().toURL(), Path.of(jars[i]).toUri().toURL()},
                    ClassLoader.getPlatformClassLoader());
            d[i] = (DoubleUnaryOperator) l.loadClass(System.getProperty("abh.driver", "Driver")).getConstructor(String.class, long.class, String.class).newInstance("plain", mib, ops[i]);
            d[i].applyAsDouble(0.01); // class init under these props
            if (!props[i].equals("-")) for (String kv : props[i].split(",")) System.clearProperty(kv.split("=")[0]);
        }
        for (int w = 0; w < 3; w++) for (int i = 0; i < 2; i++) d[i].applyAsDouble(slice);
        List<List<Double>> m = List.of(new ArrayList<>(), new ArrayList<>());
        for (int r = 0; r < rounds; r++) {
            for (int i0 = 0; i0 < 2; i0++) { int i = (r + i0) % 2;
                m.get(i).add(d[i].applyAsDouble(slice));
            }
        }
        if (Boolean.getBoolean("abh.verbose")) for (int r = 0; r < rounds; r++) System.out.printf("round %d: A %.2f B %.2f%n", r, m.get(0).get(r), m.get(1).get(r));
        List<Double> ratios = new ArrayList<>();
        for (int r = 0; r < rounds; r++) ratios.add(m.get(1).get(r) / m.get(0).get(r));
        Collections.sort(ratios);
        double[] med = new double[2];
        for (int i = 0; i < 2; i++) { List<Double> s = new ArrayList<>(m.get(i)); Collections.sort(s); med[i] = s.get(s.size() / 2); }
        System.out.printf("%s %d MiB: A %s median %.2f M/s, B %s median %.2f M/s; B/A per round median %.3f (quartiles %.3f-%.3f)%n",
                op, mib, props[0], med[0], props[1], med[1], ratios.get(rounds / 2), ratios.get(rounds / 4), ratios.get(3 * rounds / 4));
        System.exit(0);
    }
}
