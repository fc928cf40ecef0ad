import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brokerDir } from './paths.ts';

const execFileAsync = promisify(execFile);

/** A Maven artifact plus extra artifacts that must sit on the same class path. */
export interface MavenArtifact {
  groupId: string;
  artifactId: string;
  version: string;
  /** More artifacts resolved into the same folder (e.g. a logging back end the jar leaves out). */
  extras?: { groupId: string; artifactId: string; version: string }[];
}

/** Minutes, not seconds: a cold resolve pulls ~100 jars from Maven Central. */
const RESOLVE_TIMEOUT_MS = 15 * 60_000;

// Concurrent callers in one process (e.g. `install()` then `start()` racing) share one mvn run.
const inFlight = new Map<string, Promise<string>>();

/**
 * Resolves an artifact with all its runtime dependencies into
 * `<BROKERS_HOME>/maven/<artifactId>-<version>/lib` and returns that folder. A marker holding the
 * pom, written only after mvn succeeds, makes a second call instant, and a half-finished download
 * or a changed artifact list (extras) resolve again.
 */
export function resolveMaven(artifact: MavenArtifact): Promise<string> {
  const key = `${artifact.artifactId}-${artifact.version}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = resolve(key, artifact).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

/** The class path (`lib/*`) for `java -cp`. */
export const classPathOf = (libDir: string): string => join(libDir, '*');

async function resolve(key: string, artifact: MavenArtifact): Promise<string> {
  const home = brokerDir('maven', key);
  const lib = join(home, 'lib');
  const marker = join(home, '.complete');
  const pom = pomFor(artifact);
  if (isComplete(marker, lib, pom)) return lib;

  rmSync(lib, { recursive: true, force: true });
  mkdirSync(lib, { recursive: true });
  writeFileSync(join(home, 'pom.xml'), pom);
  try {
    await execFileAsync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        join(home, 'pom.xml'),
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${lib}`,
      ],
      { cwd: home, timeout: RESOLVE_TIMEOUT_MS, maxBuffer: 32 * 1024 * 1024 },
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}`.split('\n').slice(-40).join('\n');
    throw new Error(`mvn could not resolve ${artifactCoords(artifact)}: ${e.message}\n${output}`, {
      cause: err,
    });
  }
  writeFileSync(marker, pom);
  return lib;
}

function isComplete(marker: string, lib: string, pom: string): boolean {
  return (
    existsSync(marker) &&
    readFileSync(marker, 'utf8') === pom &&
    existsSync(lib) &&
    readdirSync(lib).length > 0
  );
}

const artifactCoords = (a: MavenArtifact): string => `${a.groupId}:${a.artifactId}:${a.version}`;

function pomFor(artifact: MavenArtifact): string {
  const deps = [artifact, ...(artifact.extras ?? [])]
    .map(
      (d) => `    <dependency>
      <groupId>${d.groupId}</groupId>
      <artifactId>${d.artifactId}</artifactId>
      <version>${d.version}</version>
    </dependency>`,
    )
    .join('\n');
  // A throwaway project whose only job is to let the dependency plugin walk the graph.
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.sluice.brokers</groupId>
  <artifactId>${artifact.artifactId}-runtime</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
${deps}
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>3.8.1</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
`;
}
