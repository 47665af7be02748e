/**
 * Registry credentials for pull and push: those of the request's
 * X-Registry-Auth header, else what a successful POST /auth told the
 * daemon for that registry.
 */
import type { AuthRequest, AuthResult, RegistryAuth } from '../../api/index.js';
import { registryHost } from '../login.js';

/** Credentials remembered from POST /auth, by registry host, for this daemon's life. */
export class CredentialMemory {
  private readonly byHost = new Map<string, RegistryAuth>();

  remember(auth: RegistryAuth): void {
    if (auth.serveraddress === undefined) return;
    this.byHost.set(registryHost(auth.serveraddress), auth);
  }

  /** The credentials for host ("docker.io" is Docker Hub): the request's own first. */
  forHost(host: string, given: RegistryAuth | undefined): { username: string; password: string } | undefined {
    const auth = given ?? this.byHost.get(registryHost(host));
    if (auth === undefined || auth.username === undefined) return undefined;
    return { username: auth.username, password: auth.password ?? '' };
  }
}

/** Makes a system backend remember the credentials of each successful login (POST /auth) for pull and push. */
export function rememberLogins<S extends { login(r: AuthRequest): Promise<AuthResult> }>(system: S, memory: CredentialMemory): S {
  const login = system.login.bind(system);
  system.login = async (r: AuthRequest): Promise<AuthResult> => {
    const res = await login(r);
    memory.remember(r);
    return res;
  };
  return system;
}
