// CcsStoreProbe: can an account read the Central Certificate Store? Compiled by Test-CcsShare.ps1
// with Add-Type (C# 5: Windows PowerShell 5.1 compiles with the .NET Framework's own compiler, so
// no newer syntax here).
//
// As IIS Administration checks the CCS identity (CentralCertHelper.TestConnection): LogonUser with
// LOGON32_LOGON_INTERACTIVE and the default provider, then the work runs impersonated
// (WindowsIdentity.RunImpersonated). The token is a logon session of its own, so a share is
// reached with the identity's credentials whatever connections the agent's own session (LocalSystem)
// holds to the same server: no ERROR_SESSION_CREDENTIAL_CONFLICT (1219), and when the token is
// closed the session and every connection it made go with it, so nothing stays connected. The same
// code serves a local path (NTFS permissions of the identity) and a share.
//
// Impersonated it lists the folder and reads the first .pfx (by ordinal name, at most MaxPfxBytes):
// listing a folder proves list rights only; IIS must read the files. The agent's own read (the
// computer account on a share) is checked by AsSelf, without impersonation.
//
// The Windows calls sit behind the public delegates below so that the agent's tests can play them
// (test/powershell/FakeIIS); nothing in the agent's configuration can replace them.

using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.IO;
using System.Runtime.InteropServices;
using System.Security;
using System.Security.Principal;
using Microsoft.Win32.SafeHandles;

namespace CcsAgent
{
    public sealed class StoreProbeResult
    {
        /// <summary>0 when the store was read; else the Windows error.</summary>
        public int Win32;
        /// <summary>Where it failed: "logon", "list" or "read" (null on success).</summary>
        public string Stage;
        /// <summary>The .pfx files in the folder.</summary>
        public int PfxCount;
        public string PfxName;
        public byte[] PfxBytes;
    }

    public static class StoreProbe
    {
        public const int MaxPfxBytes = 256 * 1024;
        private const int LOGON32_LOGON_INTERACTIVE = 2;
        private const int LOGON32_PROVIDER_DEFAULT = 0;

        // The Windows calls (see the file comment). Logon answers a token, or throws Win32Exception.
        public static Func<string, string, SecureString, object> Logon = Win32Logon;
        public static Func<object, Func<StoreProbeResult>, StoreProbeResult> RunAs = Win32RunAs;
        public static Action<object> CloseToken = Win32Close;
        public static Func<string, string[]> ListFiles = DefaultListFiles;
        public static Func<string, long> FileLength = DefaultFileLength;
        public static Func<string, byte[]> ReadFile = File.ReadAllBytes;

        /// <summary>As the account: log on, then list and read one .pfx impersonated.</summary>
        public static StoreProbeResult AsIdentity(string account, SecureString password, string path)
        {
            string user = account;
            string domain = ".";
            int slash = account.IndexOf('\\');
            if (slash >= 0) { domain = account.Substring(0, slash); user = account.Substring(slash + 1); }
            else if (account.IndexOf('@') >= 0) { domain = null; } // a UPN needs a null domain

            object token;
            try { token = Logon(user, domain, password); }
            catch (Exception e) { return Failed("logon", Win32Of(e)); }
            try { return RunAs(token, delegate { return ReadStore(path, null); }); }
            finally { CloseToken(token); }
        }

        /// <summary>As this process (LocalSystem: the computer account on a share): list, read one file.</summary>
        public static StoreProbeResult AsSelf(string path, string pfxName)
        {
            return ReadStore(path, pfxName);
        }

        private static StoreProbeResult ReadStore(string path, string pfxName)
        {
            List<string> names = new List<string>();
            try
            {
                foreach (string name in ListFiles(path))
                {
                    if (name.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase)) names.Add(name);
                }
            }
            catch (Exception e) { return Failed("list", Win32Of(e)); }
            names.Sort(StringComparer.Ordinal);

            StoreProbeResult result = new StoreProbeResult();
            result.PfxCount = names.Count;
            try
            {
                foreach (string name in names)
                {
                    if (pfxName != null && !string.Equals(name, pfxName, StringComparison.OrdinalIgnoreCase)) continue;
                    string file = Path.Combine(path, name);
                    if (FileLength(file) > MaxPfxBytes) continue;
                    result.PfxBytes = ReadFile(file);
                    result.PfxName = name;
                    break;
                }
            }
            catch (Exception e) { return Failed("read", Win32Of(e)); }
            return result;
        }

        private static StoreProbeResult Failed(string stage, int win32)
        {
            StoreProbeResult result = new StoreProbeResult();
            result.Stage = stage;
            result.Win32 = win32;
            return result;
        }

        /// <summary>The Windows error behind an exception; -1 when there is none.</summary>
        public static int Win32Of(Exception e)
        {
            for (Exception x = e; x != null; x = x.InnerException)
            {
                Win32Exception w = x as Win32Exception;
                if (w != null) return w.NativeErrorCode;
                if (x is UnauthorizedAccessException) return 5;
                if (x is DirectoryNotFoundException) return 3;
                if (x is FileNotFoundException) return 2;
                if (x is IOException && (x.HResult & unchecked((int)0xFFFF0000)) == unchecked((int)0x80070000)) return x.HResult & 0xFFFF;
            }
            return -1;
        }

        private static string[] DefaultListFiles(string path)
        {
            string[] files = Directory.GetFiles(path);
            for (int i = 0; i < files.Length; i++) files[i] = Path.GetFileName(files[i]);
            return files;
        }

        private static long DefaultFileLength(string file)
        {
            return new FileInfo(file).Length;
        }

        [DllImport("advapi32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern bool LogonUserW(string user, string domain, IntPtr password, int logonType, int logonProvider, out SafeAccessTokenHandle token);

        private static object Win32Logon(string user, string domain, SecureString password)
        {
            // The password leaves the SecureString only for the call, and is zeroed right after.
            IntPtr plain = Marshal.SecureStringToGlobalAllocUnicode(password);
            try
            {
                SafeAccessTokenHandle token;
                if (!LogonUserW(user, domain, plain, LOGON32_LOGON_INTERACTIVE, LOGON32_PROVIDER_DEFAULT, out token))
                {
                    throw new Win32Exception(Marshal.GetLastWin32Error());
                }
                return token;
            }
            finally { Marshal.ZeroFreeGlobalAllocUnicode(plain); }
        }

        private static StoreProbeResult Win32RunAs(object token, Func<StoreProbeResult> work)
        {
            return WindowsIdentity.RunImpersonated((SafeAccessTokenHandle)token, work);
        }

        private static void Win32Close(object token)
        {
            ((SafeAccessTokenHandle)token).Dispose();
        }
    }
}
