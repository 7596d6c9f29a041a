<?php

declare(strict_types=1);

require_once __DIR__ . '/dtos.php';

use Spikard\App;
use Spikard\Attribute\Body;
use Spikard\Attribute\Controller;
use Spikard\Attribute\Delete;
use Spikard\Attribute\Get;
use Spikard\Attribute\Header;
use Spikard\Attribute\Inject;
use Spikard\Attribute\Post;
use Spikard\Attribute\Put;
use Spikard\Attribute\Query;
use Spikard\HttpException;
use Spikard\Request;
use Spikard\Response;
use Spikard\Tests\Apps\Role;
use Spikard\Tests\Apps\UserDto;

#[Controller(prefix: '/api/users')]
final class UserController
{
    /** @var array<int, UserDto> */
    private array $users = [];

    #[Get('/')]
    public function list(#[Query] int $limit = 10, #[Query] ?Role $role = null): array
    {
        $out = [];
        foreach ($this->users as $id => $u) {
            if ($role === null || $u->role === $role) {
                $out[] = ['id' => $id, 'name' => $u->name];
            }
        }
        return ['limit' => $limit, 'role' => $role?->value, 'users' => array_slice($out, 0, $limit)];
    }

    #[Get('/{id:int}')]
    public function show(int $id): UserDto
    {
        return $this->users[$id] ?? throw new HttpException(404, "no user $id");
    }

    #[Post('/', response: ['type' => 'object', 'required' => ['id']])]
    #[Body(UserDto::class)]
    public function create(UserDto $user, #[Header('x-tenant')] string $tenant = 'none'): Response
    {
        $id = count($this->users) + 1;
        $this->users[$id] = $user;
        return Response::json(['id' => $id, 'tenant' => $tenant, 'user' => $user], 201);
    }

    #[Put('/{id:int}')]
    public function replace(int $id, UserDto $user): array
    {
        $this->users[$id] = $user;
        return ['id' => $id, 'address' => $user->address?->city];
    }

    #[Delete('/{id:int}')]
    public function remove(int $id): Response
    {
        unset($this->users[$id]);
        return Response::noContent();
    }

    #[Get('/config/region')]
    public function region(#[Inject] array $settings, Request $r): array
    {
        return ['region' => $settings['region'], 'deps' => array_keys($r->dependencies)];
    }
}
