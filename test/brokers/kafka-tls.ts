/**
 * TLS material for the local Kafka's SSL and mTLS listeners: a throw-away CA, a broker certificate
 * for 127.0.0.1 and a client certificate, made once with `openssl` (Debian's, present wherever the
 * JDK is) and kept in the broker cache. The broker reads PEM files directly (Kafka ≥ 2.7), and so
 * do sluice's `ssl: { ca, cert, key }` connection settings.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brokerDir } from './paths.ts';
import { BrokerStartError } from './process.ts';

export interface KafkaTlsFiles {
  dir: string;
  /** CA certificate (PEM): clients trust it; the mTLS listener trusts client certificates it signed. */
  caFile: string;
  /** Broker private key followed by its certificate (Kafka's PEM keystore file). */
  brokerKeystoreFile: string;
  /** Client certificate and key (PEM) for the mTLS listener. */
  clientCertFile: string;
  clientKeyFile: string;
}

const DAYS = '3650';

/** Debian's openssl CLI, installed like rabbitmq-server when it is missing and we are root. */
function ensureOpenssl(): void {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return;
  } catch {
    // Not installed: below.
  }
  if (process.getuid?.() !== 0)
    throw new BrokerStartError('kafka', "openssl is missing; install Debian's openssl package");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  execFileSync('apt-get', [...lock, 'update', '-qq'], { env, stdio: 'pipe' });
  execFileSync('apt-get', [...lock, 'install', '-y', '-qq', 'openssl'], { env, stdio: 'pipe' });
}

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  } catch (err) {
    const e = err as { message: string; stderr?: Buffer };
    throw new BrokerStartError(
      'kafka',
      `making TLS test certificates failed (openssl ${args[0]}): ${e.message}\n${e.stderr?.toString() ?? ''}`,
    );
  }
}

/** Signs `<name>.csr` with the CA, adding `extensions` (an openssl extension config line). */
function sign(dir: string, name: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    DAYS,
    '-extfile',
    `${name}.ext`,
  ]);
}

function request(dir: string, name: string, subject: string): void {
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    subject,
  ]);
}

/** The files, created on first use. */
export function kafkaTlsFiles(): KafkaTlsFiles {
  const dir = brokerDir('kafka', 'tls');
  const files: KafkaTlsFiles = {
    dir,
    caFile: join(dir, 'ca.pem'),
    brokerKeystoreFile: join(dir, 'broker-keystore.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
  };
  // Written last: when it exists, everything else does.
  if (existsSync(files.brokerKeystoreFile)) return files;
  ensureOpenssl();
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    DAYS,
    '-subj',
    '/CN=sluice test CA',
  ]);
  request(dir, 'broker', '/CN=127.0.0.1');
  // Clients check the name they dialled: 127.0.0.1 must be in the certificate as an IP SAN.
  sign(dir, 'broker', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
  request(dir, 'client', '/CN=sluice-test-client');
  sign(dir, 'client', 'extendedKeyUsage=clientAuth');
  // Kafka's PEM keystore: the (unencrypted PKCS#8) key, then the certificate chain.
  writeFileSync(
    files.brokerKeystoreFile,
    readFileSync(join(dir, 'broker.key'), 'utf8') + readFileSync(join(dir, 'broker.pem'), 'utf8'),
  );
  return files;
}
